//! [`Day`]: the day a report describes, `YYYY-MM-DD` in UTC (a day, not a time: less to
//! fingerprint), or unknown (old Qubes HCL files carry none).

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A calendar day, or unknown (written as the empty string).
///
/// Written `YYYY-MM-DD`. Text that is neither that nor empty is kept as written
/// ([`Day::Unreadable`]) so that a stored report still reads and writes back unchanged;
/// [`crate::Report::validate`] refuses it in new input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Day {
    #[default]
    Unknown,
    On(Date),
    Unreadable(String),
}

impl Day {
    /// Today in UTC.
    pub fn today() -> Day {
        Day::On(
            jiff::tz::Offset::UTC
                .to_datetime(jiff::Timestamp::now())
                .date(),
        )
    }

    /// `YYYY-MM-DD` with a real month and day; anything else is None.
    pub fn parse(text: &str) -> Option<Day> {
        let b = text.as_bytes();
        let shape = b.len() == 10
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            });
        if !shape {
            return None;
        }
        let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i16>().ok();
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let m = i8::try_from(m).ok()?;
        let d = i8::try_from(d).ok()?;
        Date::new(y, m, d).ok().map(Day::On)
    }

    /// The date, when known and readable.
    pub fn date(&self) -> Option<Date> {
        match self {
            Day::On(d) => Some(*d),
            Day::Unknown | Day::Unreadable(_) => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Day::Unknown)
    }
}

impl From<&str> for Day {
    fn from(text: &str) -> Day {
        if text.is_empty() {
            Day::Unknown
        } else {
            Day::parse(text).unwrap_or_else(|| Day::Unreadable(text.to_owned()))
        }
    }
}

impl From<Date> for Day {
    fn from(d: Date) -> Day {
        Day::On(d)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Day::Unknown => Ok(()),
            Day::On(d) => write!(f, "{}", d.strftime("%Y-%m-%d")),
            Day::Unreadable(s) => f.write_str(s),
        }
    }
}

impl PartialEq<&str> for Day {
    fn eq(&self, other: &&str) -> bool {
        match self {
            Day::Unknown => other.is_empty(),
            Day::On(d) => Day::parse(other) == Some(Day::On(*d)),
            Day::Unreadable(s) => s == other,
        }
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Day;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Day, E> {
                Ok(Day::from(v))
            }
        }
        d.deserialize_str(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_and_write_back() {
        for text in [
            "2023-07-28",
            "2000-02-29",
            "",
            "2026-02-30",
            "not a date",
            "0999-01-01",
        ] {
            let day = Day::from(text);
            assert_eq!(day.to_string(), text);
            let json = serde_json::to_string(&day).unwrap();
            assert_eq!(serde_json::from_str::<Day>(&json).unwrap(), day);
        }
        assert!(matches!(Day::from("2023-07-28"), Day::On(_)));
        assert_eq!(
            Day::from("2026-02-30"),
            Day::Unreadable("2026-02-30".into())
        );
        assert_eq!(Day::from("2023-7-28"), Day::Unreadable("2023-7-28".into()));
        assert_eq!(Day::from(""), Day::Unknown);
        assert!(Day::parse("2024-01-02") > Day::parse("2023-12-31"));
    }
}
