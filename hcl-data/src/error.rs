//! Why a report or a Qubes HCL file was refused.

/// Every way reading or checking a report can fail. `path` is a JSON path into the report
/// (`devices[3].modalias`, `system.cpu`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is bigger than any real report.
    #[error("input is {size} bytes, more than the {max} allowed")]
    TooLarge { size: usize, max: usize },
    /// Not well-formed JSON or YAML.
    #[error("{format} syntax error at line {line}, column {column}: {message}")]
    Syntax {
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    /// A field is missing.
    #[error("missing field `{path}`")]
    Missing { path: String },
    /// A field has the wrong type or an unknown value.
    #[error("`{path}`: {message}")]
    Type { path: String, message: String },
    /// The report was written by a newer (or broken) writer.
    #[error("unsupported schema_version {found} (this build reads 1 to {supported})")]
    SchemaVersion { found: String, supported: u32 },
    /// A device has no modalias: nothing can be matched.
    #[error("`{path}`: device without modalias")]
    NoModalias { path: String },
    /// Control characters (newline, escape, NUL, ...) where none belong.
    #[error("`{path}`: control character U+{code:04X} in the value")]
    ControlCharacter { path: String, code: u32 },
    /// A string longer than any real value.
    #[error("`{path}`: {len} bytes, more than the {max} allowed")]
    TooLong {
        path: String,
        len: usize,
        max: usize,
    },
    /// A list or map with more entries than any real machine has.
    #[error("`{path}`: {count} entries, more than the {max} allowed")]
    TooMany {
        path: String,
        count: usize,
        max: usize,
    },
    /// A value that breaks a rule of the schema.
    #[error("`{path}`: {reason}")]
    Invalid { path: String, reason: String },
    /// A Qubes HCL YAML file that cannot be imported.
    #[error("Qubes HCL file {file}: {reason}")]
    QubesHcl { file: String, reason: String },
    /// Writing YAML or JSON failed.
    #[error("cannot write the report: {0}")]
    Write(String),
}

impl Error {
    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
