//! Which reports a page or a kernel report looks at.

use hcl_data::Day;
use serde::{Deserialize, Serialize};

use super::AnalysisError;
use crate::store::StoredReport;

/// Filters by machine type, date and Qubes version. Empty strings count as "no filter" so that
/// an HTML form submitted with blank fields means "all".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct Filter {
    /// `laptop`, `desktop`, ... compared case-insensitively with the report's machine type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[arg(long = "type")]
    pub machine_type: Option<String>,
    /// Qubes release, `4.2` or `R4.2`: matches `R4.2`, `4.2.1`, `R4.2-rc1` but not `4.20`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub qubes: Option<String>,
    /// First day, `YYYY-MM-DD`, inclusive (the day the report was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub to: Option<String>,
}

impl Filter {
    /// Drop blank fields and check the dates.
    pub fn normalized(&self) -> Result<Filter, AnalysisError> {
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let f = Filter {
            machine_type: clean(&self.machine_type).map(|s| s.to_lowercase()),
            qubes: clean(&self.qubes),
            from: clean(&self.from),
            to: clean(&self.to),
        };
        for d in [&f.from, &f.to].into_iter().flatten() {
            if Day::parse(d).is_none() {
                return Err(AnalysisError::BadDate(d.clone()));
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.machine_type.is_none()
            && self.qubes.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }

    /// Query string (`type=laptop&qubes=4.2`) for links that keep the filter.
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("type", &self.machine_type),
            ("qubes", &self.qubes),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }

    /// Whether a report passes. Call on a [`Filter::normalized`] filter.
    pub fn matches(&self, r: &StoredReport) -> bool {
        if let Some(t) = &self.machine_type {
            let have = r.report.system.machine_type.as_deref().unwrap_or("");
            if !have.trim().eq_ignore_ascii_case(t) {
                return false;
            }
        }
        if self.from.is_some() || self.to.is_some() {
            let day = report_day(r);
            let bound = |b: &Option<String>| b.as_deref().and_then(Day::parse);
            if bound(&self.from).is_some_and(|f| day < f)
                || bound(&self.to).is_some_and(|t| day > t)
            {
                return false;
            }
        }
        if let Some(q) = &self.qubes {
            let want = norm_version(q);
            let versions = r
                .report
                .qubes
                .as_ref()
                .map(|q| q.versions.as_slice())
                .unwrap_or(&[]);
            if !versions
                .iter()
                .filter_map(|v| v.qubes.as_deref())
                .any(|have| version_matches(&norm_version(have), &want))
            {
                return false;
            }
        }
        true
    }
}

/// The day a report describes: the day it was made, else the day it arrived.
pub(crate) fn report_day(r: &StoredReport) -> Day {
    match &r.report.generated_on {
        day @ Day::On(_) => day.clone(),
        Day::Unknown | Day::Unreadable(_) => r
            .received_at
            .get(..10)
            .and_then(Day::parse)
            .unwrap_or_default(),
    }
}

fn norm_version(v: &str) -> String {
    let v = v.trim();
    let v = v.strip_prefix(['R', 'r']).unwrap_or(v);
    v.trim().to_lowercase()
}

fn version_matches(have: &str, want: &str) -> bool {
    match have.strip_prefix(want) {
        Some(rest) => !rest.starts_with(|c: char| c.is_ascii_digit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qubes_versions_match_by_release_prefix() {
        assert!(version_matches(&norm_version("R4.2"), &norm_version("4.2")));
        assert!(version_matches(
            &norm_version("R4.2.1"),
            &norm_version("R4.2")
        ));
        assert!(version_matches(
            &norm_version("R4.2-rc1"),
            &norm_version("4.2")
        ));
        assert!(!version_matches(
            &norm_version("4.20"),
            &norm_version("4.2")
        ));
        assert!(!version_matches(
            &norm_version("R4.1"),
            &norm_version("4.2")
        ));
    }

    #[test]
    fn bad_dates_are_refused_and_blank_fields_dropped() {
        let f = Filter {
            from: Some("2024-13".into()),
            ..Default::default()
        };
        assert_eq!(
            f.normalized(),
            Err(AnalysisError::BadDate("2024-13".into()))
        );
        let f = Filter {
            to: Some("2020-13-01".into()),
            ..Default::default()
        };
        assert!(f.normalized().is_err());
        let f = Filter {
            machine_type: Some(" ".into()),
            to: Some("2025-01-31".into()),
            ..Default::default()
        };
        let n = f.normalized().unwrap();
        assert_eq!(n.machine_type, None);
        assert_eq!(n.query(), "to=2025-01-31");
    }
}
