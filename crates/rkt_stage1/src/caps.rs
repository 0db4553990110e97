//! Capabilities of an app: the set (rkt's `getAppCapabilities`) as a pure function, and applying it
//! with raw prctl/capset so no crate has to agree with the running kernel's list.

use crate::pod::Isolator;
use thiserror::Error;

pub const RETAIN_SET: &str = "os/linux/capabilities-retain-set";
pub const REMOVE_SET: &str = "os/linux/capabilities-remove-set";

/// Capability numbers by name, in kernel order (include/uapi/linux/capability.h).
pub const NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The appc default bounding set when an app has no capability isolator.
pub const DEFAULT: &[&str] = &[
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETFCAP",
    "CAP_SYS_CHROOT",
];

/// A set of capabilities as the kernel's 64-bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CapsError {
    #[error("unknown capability {0:?}")]
    Unknown(String),
    #[error("isolator {0} needs a non-empty \"set\" list")]
    BadValue(String),
    #[error(
        "cannot have both os/linux/capabilities-retain-set and os/linux/capabilities-remove-set"
    )]
    Both,
}

pub fn number(name: &str) -> Option<u32> {
    let up = name.to_ascii_uppercase();
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

impl CapSet {
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, CapsError> {
        let mut m = 0u64;
        for n in names {
            let c = number(n.as_ref()).ok_or_else(|| CapsError::Unknown(n.as_ref().to_string()))?;
            m |= 1 << c;
        }
        Ok(CapSet(m))
    }

    pub fn all(last_cap: u32) -> Self {
        CapSet(if last_cap >= 63 {
            u64::MAX
        } else {
            (1u64 << (last_cap + 1)) - 1
        })
    }

    pub fn contains(&self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    pub fn names(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.contains(*i as u32))
            .map(|(_, n)| *n)
            .collect()
    }
}

fn isolator_set(iso: &Isolator) -> Result<Vec<String>, CapsError> {
    let set = iso
        .value
        .get("set")
        .and_then(|s| s.as_array())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CapsError::BadValue(iso.name.clone()))?;
    set.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| CapsError::BadValue(iso.name.clone()))
        })
        .collect()
}

/// The bounding set of an app. `disabled` is `--disable-capabilities-restriction` (keep all the
/// kernel has, `last_cap` from /proc/sys/kernel/cap_last_cap).
pub fn app_caps(
    isolators: &[Isolator],
    disabled: bool,
    last_cap: u32,
) -> Result<CapSet, CapsError> {
    let mut retain: Vec<String> = Vec::new();
    let mut remove: Vec<String> = Vec::new();
    for iso in isolators {
        match iso.name.as_str() {
            RETAIN_SET => retain.extend(isolator_set(iso)?),
            REMOVE_SET => remove.extend(isolator_set(iso)?),
            _ => {}
        }
    }
    if !retain.is_empty() && !remove.is_empty() {
        return Err(CapsError::Both);
    }
    // Names are checked even when the restriction is off, so a typo is never silently accepted.
    let retain = CapSet::from_names(&retain)?;
    let remove = CapSet::from_names(&remove)?;
    if disabled {
        return Ok(CapSet::all(last_cap));
    }
    let default = CapSet::from_names(DEFAULT).expect("default names are known");
    Ok(if retain.0 != 0 {
        retain
    } else {
        CapSet(default.0 & !remove.0)
    })
}

// The raw ABI: linux/capability.h, version 3 (two 32-bit words per set).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

/// Drops everything outside `set` from the bounding set. Needs CAP_SETPCAP, so it runs before the
/// uid change.
pub fn drop_bounding(set: CapSet, last_cap: u32) -> std::io::Result<()> {
    for c in 0..=last_cap.min(63) {
        if set.contains(c) {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, c as libc::c_ulong, 0, 0, 0) } != 0 {
            let e = std::io::Error::last_os_error();
            // A capability the kernel does not know is not in the bounding set either.
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// This process's permitted set: stage1 may itself run with less than every capability (a
/// container host), and capset cannot grant more.
pub fn permitted() -> std::io::Result<CapSet> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data words as the version-3 ABI defines them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(CapSet(
        data[0].permitted as u64 | (data[1].permitted as u64) << 32,
    ))
}

/// Sets effective, permitted and inheritable to `set` (as far as this process holds it).
pub fn set_process_caps(set: CapSet) -> std::io::Result<()> {
    let set = CapSet(set.0 & permitted()?.0);
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let lo = set.0 as u32;
    let hi = (set.0 >> 32) as u32;
    let data = [
        CapData {
            effective: lo,
            permitted: lo,
            inheritable: lo,
        },
        CapData {
            effective: hi,
            permitted: hi,
            inheritable: hi,
        },
    ];
    // SAFETY: header and two data words as the version-3 ABI defines them.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn iso(name: &str, set: &[&str]) -> Isolator {
        Isolator {
            name: name.into(),
            value: json!({ "set": set }),
        }
    }

    #[test]
    fn default_set_is_the_fourteen() {
        let s = app_caps(&[], false, 40).unwrap();
        assert_eq!(s.0.count_ones(), 14);
        let mut names = s.names();
        names.sort();
        let mut want = DEFAULT.to_vec();
        want.sort();
        assert_eq!(names, want);
        // The mask as /proc/self/status prints it (CapBnd) for the default set.
        assert_eq!(format!("{:016x}", s.0), "00000000a80425fb");
    }

    #[test]
    fn retain_set_is_exact() {
        let s = app_caps(
            &[iso(RETAIN_SET, &["CAP_NET_ADMIN", "CAP_CHOWN"])],
            false,
            40,
        )
        .unwrap();
        assert_eq!(s.names(), ["CAP_CHOWN", "CAP_NET_ADMIN"]);
    }

    #[test]
    fn remove_set_subtracts_from_default() {
        let s = app_caps(
            &[iso(REMOVE_SET, &["CAP_MKNOD", "CAP_SYS_ADMIN"])],
            false,
            40,
        )
        .unwrap();
        assert_eq!(s.0.count_ones(), 13);
        assert!(!s.contains(number("CAP_MKNOD").unwrap()));
        assert!(s.contains(number("CAP_CHOWN").unwrap()));
    }

    #[test]
    fn disabled_keeps_all() {
        assert_eq!(app_caps(&[], true, 40).unwrap(), CapSet((1u64 << 41) - 1));
        assert_eq!(
            app_caps(&[iso(RETAIN_SET, &["CAP_CHOWN"])], true, 40)
                .unwrap()
                .0
                .count_ones(),
            41
        );
        assert_eq!(CapSet::all(63), CapSet(u64::MAX));
    }

    #[test]
    fn errors() {
        assert_eq!(
            app_caps(
                &[
                    iso(RETAIN_SET, &["CAP_CHOWN"]),
                    iso(REMOVE_SET, &["CAP_KILL"])
                ],
                false,
                40
            ),
            Err(CapsError::Both)
        );
        assert_eq!(
            app_caps(&[iso(RETAIN_SET, &["CAP_BOGUS"])], false, 40),
            Err(CapsError::Unknown("CAP_BOGUS".into()))
        );
        assert_eq!(
            app_caps(&[iso(RETAIN_SET, &[])], false, 40),
            Err(CapsError::BadValue(RETAIN_SET.into()))
        );
        assert_eq!(number("net_admin"), Some(12));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
    }
}
