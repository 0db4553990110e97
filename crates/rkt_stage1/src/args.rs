//! The `run` entrypoint's command line, as stage0 emits it (stage1 ABI, interface version 6).
//!
//! stage0 always writes `--flag=value`; the Go flag syntax rkt's stage1 accepted (`--flag value`,
//! `-flag`, `--bool=false`) is accepted too so a hand-written invocation behaves like rkt's.

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpcMode {
    /// The flavour's default: a private IPC namespace (as nspawn/kvm do).
    Auto,
    Private,
    Parent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfMode {
    pub resolv: String,
    pub hosts: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    pub debug: bool,
    pub net: String,
    pub interactive: bool,
    pub hostname: Option<String>,
    pub dns_conf_mode: Option<DnsConfMode>,
    pub disable_capabilities_restriction: bool,
    pub disable_paths: bool,
    pub disable_seccomp: bool,
    pub ipc: IpcMode,
    /// `--private-users=<shift>:<count>`: the pod's user namespace maps 0..count to shift..
    pub private_users: Option<(u32, u32)>,
    pub uuid: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("unknown flag {0}")]
    UnknownFlag(String),
    #[error("flag {0} needs a value")]
    MissingValue(String),
    #[error("invalid value {value:?} for flag --{flag}")]
    InvalidValue { flag: String, value: String },
    #[error("--net={0} is not supported by this stage1 (only --net=host)")]
    UnsupportedNet(String),
    #[error("--{0} is not supported by this stage1")]
    Unsupported(String),
    #[error("expected exactly one pod UUID argument, got {0}")]
    Positional(usize),
    #[error("invalid pod UUID {0:?}")]
    InvalidUuid(String),
}

const BOOL_FLAGS: &[&str] = &[
    "debug",
    "interactive",
    "disable-capabilities-restriction",
    "disable-paths",
    "disable-seccomp",
    "mutable",
];
const VALUE_FLAGS: &[&str] = &[
    "net",
    "hostname",
    "dns-conf-mode",
    "ipc",
    "private-users",
    "mds-token",
    "local-config",
];

fn parse_bool(flag: &str, v: &str) -> Result<bool, ArgsError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(ArgsError::InvalidValue {
            flag: flag.into(),
            value: v.into(),
        }),
    }
}

/// Parses the arguments after argv[0].
pub fn parse<I, S>(argv: I) -> Result<RunArgs, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let argv: Vec<String> = argv.into_iter().map(|s| s.as_ref().to_string()).collect();
    let mut a = RunArgs {
        debug: false,
        // rkt's default; anything but host is refused below, so a missing flag is an error too.
        net: "default".into(),
        interactive: false,
        hostname: None,
        dns_conf_mode: None,
        disable_capabilities_restriction: false,
        disable_paths: false,
        disable_seccomp: false,
        ipc: IpcMode::Auto,
        private_users: None,
        uuid: String::new(),
    };
    let mut positional = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        if arg == "--" {
            positional.extend(argv[i..].iter().cloned());
            break;
        }
        let Some(body) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|b| !b.is_empty())
        else {
            positional.push(arg.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let flag = format!("--{name}");
        if BOOL_FLAGS.contains(&name) {
            let on = match &inline {
                Some(v) => parse_bool(name, v)?,
                None => true,
            };
            match name {
                "debug" => a.debug = on,
                "interactive" => a.interactive = on,
                "disable-capabilities-restriction" => a.disable_capabilities_restriction = on,
                "disable-paths" => a.disable_paths = on,
                "disable-seccomp" => a.disable_seccomp = on,
                "mutable" if on => return Err(ArgsError::Unsupported("mutable".into())),
                _ => {}
            }
            continue;
        }
        if !VALUE_FLAGS.contains(&name) {
            return Err(ArgsError::UnknownFlag(flag));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = argv
                    .get(i)
                    .cloned()
                    .ok_or_else(|| ArgsError::MissingValue(flag.clone()))?;
                i += 1;
                v
            }
        };
        match name {
            "net" => a.net = value,
            "hostname" => a.hostname = Some(value).filter(|h| !h.is_empty()),
            "ipc" => {
                a.ipc = match value.as_str() {
                    "auto" | "" => IpcMode::Auto,
                    "private" => IpcMode::Private,
                    "parent" => IpcMode::Parent,
                    _ => {
                        return Err(ArgsError::InvalidValue {
                            flag: name.into(),
                            value,
                        })
                    }
                }
            }
            "dns-conf-mode" => a.dns_conf_mode = Some(parse_dns_conf_mode(&value)?),
            "private-users" if !value.is_empty() => {
                let bad = || ArgsError::InvalidValue {
                    flag: name.into(),
                    value: value.clone(),
                };
                let (s, c) = value.split_once(':').ok_or_else(bad)?;
                let (s, c): (u32, u32) = (s.parse().map_err(|_| bad())?, c.parse().map_err(|_| bad())?);
                // The host's own root (0) must stay outside the range.
                if s == 0 || c == 0 || s.checked_add(c).is_none() {
                    return Err(bad());
                }
                a.private_users = Some((s, c));
            }
            // Accepted for ABI compatibility; this stage1 has no metadata service client and reads no
            // local configuration.
            _ => {}
        }
    }
    // rkt accepts a list (`--net=host` only makes sense alone).
    if a.net != "host" {
        return Err(ArgsError::UnsupportedNet(a.net));
    }
    if positional.len() != 1 {
        return Err(ArgsError::Positional(positional.len()));
    }
    a.uuid = positional.remove(0);
    if !valid_uuid(&a.uuid) {
        return Err(ArgsError::InvalidUuid(a.uuid));
    }
    if let Some(h) = &a.hostname {
        if h.len() > 64 || h.contains(['/', '\n', '\0']) {
            return Err(ArgsError::InvalidValue {
                flag: "hostname".into(),
                value: h.clone(),
            });
        }
    }
    Ok(a)
}

fn parse_dns_conf_mode(v: &str) -> Result<DnsConfMode, ArgsError> {
    let mut m = DnsConfMode {
        resolv: "default".into(),
        hosts: "default".into(),
    };
    for part in v.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("resolv", x)) => m.resolv = x.into(),
            Some(("hosts", x)) => m.hosts = x.into(),
            _ => {
                return Err(ArgsError::InvalidValue {
                    flag: "dns-conf-mode".into(),
                    value: v.into(),
                })
            }
        }
    }
    Ok(m)
}

/// The UUID names files and the default hostname, so only the RFC 4122 text form is accepted.
fn valid_uuid(u: &str) -> bool {
    let b = u.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl RunArgs {
    pub fn hostname(&self) -> String {
        self.hostname
            .clone()
            .unwrap_or_else(|| format!("rkt-{}", self.uuid))
    }

    /// rkt appends the pod hostname to stage0's hosts file only when stage0 says it wrote it
    /// (`hosts=stage0`); with `hosts=host` that file is the host's own /etc/hosts.
    pub fn stage0_wrote_hosts(&self) -> bool {
        self.dns_conf_mode
            .as_ref()
            .is_some_and(|m| m.hosts == "stage0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "0f3ac1b2-4d5e-4f60-8a7b-9c0d1e2f3a4b";

    #[test]
    fn minimal() {
        let a = parse(["--net=host", U]).unwrap();
        assert_eq!(a.uuid, U);
        assert!(!a.debug && !a.interactive && !a.disable_paths);
        assert_eq!(a.ipc, IpcMode::Auto);
        assert_eq!(a.hostname(), format!("rkt-{U}"));
    }

    #[test]
    fn full_stage0_order() {
        let a = parse([
            "--debug",
            "--net=host",
            "--interactive",
            "--hostname=box",
            "--disable-capabilities-restriction",
            "--disable-paths",
            "--disable-seccomp",
            "--ipc=parent",
            U,
        ])
        .unwrap();
        assert!(
            a.debug
                && a.interactive
                && a.disable_capabilities_restriction
                && a.disable_paths
                && a.disable_seccomp
        );
        assert_eq!(a.ipc, IpcMode::Parent);
        assert_eq!(a.hostname(), "box");
    }

    #[test]
    fn go_flag_forms() {
        let a = parse([
            "-net",
            "host",
            "--debug=false",
            "--hostname",
            "h",
            "--ipc=private",
            U,
        ])
        .unwrap();
        assert!(!a.debug);
        assert_eq!(a.hostname.as_deref(), Some("h"));
        assert_eq!(a.ipc, IpcMode::Private);
    }

    #[test]
    fn tolerated_abi_flags() {
        let a = parse([
            "--net=host",
            "--mds-token=abc",
            "--local-config=/etc/rkt",
            "--dns-conf-mode=resolv=stage0,hosts=stage0",
            U,
        ])
        .unwrap();
        assert!(a.stage0_wrote_hosts());
        assert!(!parse(["--net=host", U]).unwrap().stage0_wrote_hosts());
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse([U]).unwrap_err(),
            ArgsError::UnsupportedNet("default".into())
        );
        assert_eq!(
            parse(["--net=default", U]).unwrap_err(),
            ArgsError::UnsupportedNet("default".into())
        );
        assert_eq!(parse(["--net=host"]).unwrap_err(), ArgsError::Positional(0));
        assert_eq!(
            parse(["--net=host", U, U]).unwrap_err(),
            ArgsError::Positional(2)
        );
        assert_eq!(
            parse(["--bogus", U]).unwrap_err(),
            ArgsError::UnknownFlag("--bogus".into())
        );
        assert_eq!(
            parse(["--net=host", "--ipc=weird", U])
                .unwrap_err()
                .to_string(),
            "invalid value \"weird\" for flag --ipc"
        );
        assert_eq!(
            parse(["--net=host", "../../etc"]).unwrap_err(),
            ArgsError::InvalidUuid("../../etc".into())
        );
        assert_eq!(
            parse(["--net=host", "--private-users=0:65536", U]).unwrap_err(),
            ArgsError::InvalidValue {
                flag: "private-users".into(),
                value: "0:65536".into()
            }
        );
        assert_eq!(
            parse(["--net=host", "--private-users=65536:65536", U])
                .unwrap()
                .private_users,
            Some((65536, 65536))
        );
        assert!(parse(["--net=host", "--private-users=x", U]).is_err());
        assert!(matches!(
            parse(["--net=host", U, "--hostname"]).unwrap_err(),
            ArgsError::MissingValue(_)
        ));
    }
}
