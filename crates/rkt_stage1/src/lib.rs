//! rkt's stage1 as a library of small modules; `main.rs` only dispatches on argv[0].

pub mod app;
pub mod args;
pub mod caps;
pub mod cgroups;
pub mod enter;
pub mod env;
pub mod exec_path;
pub mod gc;
pub mod init;
pub mod layout;
pub mod linux;
pub mod mounts;
pub mod pivot;
pub mod pod;
pub mod podfiles;
pub mod reaper;
pub mod seccomp;
pub mod stop;
pub mod syscalls_x86_64;
pub mod user;
pub mod userns;
pub mod volumes;
