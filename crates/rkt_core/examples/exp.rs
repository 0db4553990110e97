use std::io::Read;
use std::time::Instant;
use sha2::Digest;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let f = std::fs::File::open(&a[1]).unwrap();
    let mut d = flate2::bufread::MultiGzDecoder::new(std::io::BufReader::with_capacity(256<<10, f));
    let mut buf = vec![0u8; 1<<20];
    let t = Instant::now();
    let mut n = 0u64;
    loop { let k = d.read(&mut buf).unwrap(); if k == 0 { break } n += k as u64; }
    let dt = t.elapsed().as_secs_f64();
    println!("inflate {:.3}s {:.0} MB/s", dt, n as f64/dt/1e6);
    let data = std::fs::read(&a[2]).unwrap();
    let t = Instant::now();
    let h = sha2::Sha512::digest(&data);
    let dt = t.elapsed().as_secs_f64();
    println!("sha512 {:.3}s {:.0} MB/s {}", dt, data.len() as f64/dt/1e6, hex::encode(&h[..4]));
    let t = Instant::now();
    std::fs::write("/tmp/bench/cas-tmp/w", &data).unwrap();
    let dt = t.elapsed().as_secs_f64();
    println!("write {:.3}s {:.0} MB/s", dt, data.len() as f64/dt/1e6);
    std::fs::remove_file("/tmp/bench/cas-tmp/w").unwrap();
}
