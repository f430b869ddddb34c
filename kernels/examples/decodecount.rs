// Temporary: instruction counts of decoding (not committed).
use hcl_kernels::{AliasFilter, ProfileData};
fn main() {
    let golden = std::fs::read_to_string("../probe/tests/golden/qemu-q35-usb-laptopish.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&golden).unwrap();
    let keys: Vec<String> = v["devices"].as_array().unwrap().iter().map(|d| d["modalias"].as_str().unwrap().to_owned()).collect();
    let filter = AliasFilter::new(keys.iter().map(|k| (k.as_str(), false)));
    let dir = std::path::Path::new("profiles");
    let mut texts = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".zst") {
            let b = std::fs::read(&p).unwrap();
            texts.push(zstd::decode_all(&b[..]).unwrap());
        }
    }
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut n = 0;
    for _ in 0..3 {
        for t in &texts {
            let t = std::str::from_utf8(t).unwrap();
            let d = if mode == "full" { ProfileData::from_text(t, "x").unwrap() } else { ProfileData::from_text_filtered(t, "x", Some(&filter)).unwrap() };
            n += d.aliases.len();
        }
    }
    println!("{n}");
}
