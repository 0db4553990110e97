//! Throwaway timing harness (not part of the API):
//!   bench import SRC.aci TMPDIR      import once, print time and key
//!   bench render BLOB.tar DEST [KEY] render one image (key computed first if not given)
//!   bench extract BLOB.tar DEST      extract_aci (no hash check)
//!   bench hash DIR                   tree hash
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("import") => {
            let t = Instant::now();
            let a = rkt_core::import_aci_with(Path::new(&args[2]), Path::new(&args[3]), None, std::env::var("RENDER").is_ok()).unwrap();
            if let Some(t) = &a.tree { std::fs::remove_dir_all(&t.dir).unwrap(); }
            let dt = t.elapsed().as_secs_f64();
            println!(
                "import: {dt:.3}s  {:.0} MB/s of tar  key {}",
                a.size as f64 / dt / 1e6,
                a.key
            );
            std::fs::remove_file(a.tmp_path).unwrap();
        }
        Some("render") => {
            let blob = Path::new(&args[2]);
            let key = match args.get(4) {
                Some(k) => k.clone(),
                None => format!("sha512-{}", &rkt_core::hash_file(blob).unwrap()[..64]),
            };
            let img = rkt_core::RenderImage {
                blob_path: blob.into(),
                key,
                level: 0,
                path_whitelist: vec![],
                verified: false,
                blob_digest: None,
            };
            let t = Instant::now();
            let s = rkt_core::render_tree(&[img], Path::new(&args[3])).unwrap();
            let dt = t.elapsed().as_secs_f64();
            println!(
                "render: {dt:.3}s  {} entries ({:.0}/s)  {} bytes",
                s.files,
                s.files as f64 / dt,
                s.bytes
            );
        }
        Some("extract") => {
            let t = Instant::now();
            rkt_core::extract_aci(Path::new(&args[2]), Path::new(&args[3]), false).unwrap();
            println!("extract (no hash check): {:.3}s", t.elapsed().as_secs_f64());
        }
        Some("hash") => {
            let t = Instant::now();
            let h = rkt_core::tree_hash(Path::new(&args[2])).unwrap();
            println!("tree_hash: {:.3}s {h}", t.elapsed().as_secs_f64());
        }
        _ => eprintln!("usage: bench import SRC TMPDIR | render BLOB DEST [KEY] | extract BLOB DEST | hash DIR"),
    }
}
