//! The stage1 binary. rkt's stage1 ACI installs it once as `/init` with `/enter`, `/gc` and `/stop`
//! as symlinks, so the entrypoint is the basename of argv[0]. `rkt_stage1 <entrypoint> …` works too,
//! for running it by hand.

const ENTRYPOINTS: &[&str] = &["init", "enter", "gc", "stop"];

fn main() {
    let mut argv: Vec<String> = std::env::args().collect();
    let base = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    let name = if ENTRYPOINTS.contains(&base.as_str()) {
        base
    } else if argv.len() > 1 && ENTRYPOINTS.contains(&argv[1].as_str()) {
        argv.remove(0);
        argv[0].clone()
    } else {
        eprintln!("{base}: invoke as one of init, enter, gc, stop (argv[0] or first argument)");
        std::process::exit(254);
    };
    let code = match name.as_str() {
        "init" => rkt_stage1::init::main(&argv),
        "enter" => rkt_stage1::enter::main(&argv),
        "gc" => rkt_stage1::gc::main(&argv),
        "stop" => rkt_stage1::stop::main(&argv),
        other => unreachable!("{other} is not an entrypoint"),
    };
    std::process::exit(code);
}
