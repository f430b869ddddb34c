//! `dns`: the probe's own resolver (`hcl-probe upload` is a static binary and resolves without
//! NSS) reading what the network and the machine hand it: a DNS answer, and `/etc/hosts` and
//! `/etc/resolv.conf` text.
//!
//! Input: a DNS message; the same bytes as text for the file parsers.

use hcl_probe::upload::resolve::{
    TYPE_A, candidates, decode_answer_to, decode_response, encode_query, hosts_lookup, nameservers,
    search_domains,
};

const HOST: &str = "hcl.example.org";

pub fn dns(data: &[u8]) {
    // The answer to a query with the id the message carries, so the fuzzer gets past the id.
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let query = encode_query(id, HOST, TYPE_A).expect("a valid name");
    let answered = decode_answer_to(&query, data);
    let decoded = decode_response(data, id);
    if let Ok(ips) = &answered {
        // Answering our question is a stricter test than decoding.
        assert_eq!(decoded.as_ref().ok(), Some(ips));
    }
    if let Ok(ips) = &decoded {
        // An answer holds no more records than its header counts.
        let ancount = data
            .get(6..8)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        assert!(ips.len() <= usize::from(ancount));
    }

    let text = String::from_utf8_lossy(data);
    let found = hosts_lookup(&text, HOST);
    let mut unique = found.clone();
    unique.dedup();
    assert_eq!(unique.len(), found.len(), "hosts lookup repeats an address");
    let _ = nameservers(&text);
    let search = search_domains(&text);
    for name in candidates("hcl", &search) {
        // Each candidate is a name the resolver may send: encoding refuses or succeeds.
        let _ = encode_query(id, &name, TYPE_A);
    }
}
