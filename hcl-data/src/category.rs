//! [`Category`]: what a device is. The rules that give it are in `classify.rs`.

use crate::closed::closed_set;

closed_set! {
    /// What a device is, from its bus and class.
    #[derive(Default)]
    pub enum Category or Unlisted {
        /// Not classified (the empty string).
        #[default]
        Unset = "",
        Gpu = "gpu",
        Storage = "storage",
        Wifi = "wifi",
        Network = "network",
        /// Not written by the probe; a network line of an older export may say it.
        Ethernet = "ethernet",
        Wireless = "wireless",
        Audio = "audio",
        UsbController = "usb-controller",
        Smbus = "smbus",
        Thunderbolt = "thunderbolt",
        /// The host bridge: what the Qubes HCL calls the chipset.
        Chipset = "chipset",
        Bridge = "bridge",
        System = "system",
        Communication = "communication",
        Input = "input",
        InputEvent = "input-event",
        UsbHub = "usb-hub",
        UsbDevice = "usb-device",
        Camera = "camera",
        Smartcard = "smartcard",
        Printer = "printer",
        VendorSpecific = "vendor-specific",
        UsbOther = "usb-other",
        Virtio = "virtio",
        Cpu = "cpu",
        Platform = "platform",
        BusDevice = "bus-device",
        Other = "other",
    }
}

impl Category {
    /// Devices of this kind usually need no driver of their own: no candidate lacking one
    /// is a loss worth alarm.
    pub fn needs_no_driver(&self) -> bool {
        matches!(
            self,
            Category::Chipset
                | Category::Bridge
                | Category::System
                | Category::Platform
                | Category::Cpu
        )
    }

    /// The categories whose devices are network adapters (the HCL's `network:` lines).
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Category::Network | Category::Wifi | Category::Ethernet
        )
    }
}
