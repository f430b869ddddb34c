//! The HCL Probe: enumerates the devices of a machine (or a captured sysfs tree), records the
//! facts the Qubes HCL keeps, and says for every candidate kernel whether it drives each device.
