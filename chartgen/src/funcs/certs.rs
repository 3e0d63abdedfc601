//! Sprig's key and certificate generators (`genPrivateKey`, `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `WithKey` variants, `buildCustomCert`): real RSA-2048 (CA/certs),
//! RSA-4096/P-256/Ed25519 (keys) and X.509 v3 certificates shaped like Go's
//! `x509.CreateCertificate` output, PEM-encoded as Go's `pem.Encode` writes them.

use super::crypto::random_bytes;
use super::encoding::b64_decode;
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_int, arg_str, def};
use crate::value::{Map, Object, Value};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use sha2::Digest as _;
use std::rc::Rc;

pub(super) const FUNCS: &[FuncDef] = &[
    def("genPrivateKey", &[Param::String], |_, a| {
        Ok(Value::str(gen_private_key(arg_str(&a[0]))))
    }),
    def("genCA", &[Param::String, Param::Int], |ctx, a| {
        let key = new_rsa(2048)?;
        ca(ctx, arg_str(&a[0]), arg_int(&a[1]), &key)
    }),
    def(
        "genCAWithKey",
        &[Param::String, Param::Int, Param::String],
        |ctx, a| {
            let key = parse_key(arg_str(&a[2]))
                .map_err(|e| FuncError::call(format!("parsing private key: {e}")))?;
            ca(ctx, arg_str(&a[0]), arg_int(&a[1]), &key)
        },
    ),
    def(
        "genSelfSignedCert",
        &[Param::String, Param::List, Param::List, Param::Int],
        |ctx, a| {
            let key = new_rsa(2048)?;
            self_signed(ctx, &a, &key)
        },
    ),
    def(
        "genSelfSignedCertWithKey",
        &[
            Param::String,
            Param::List,
            Param::List,
            Param::Int,
            Param::String,
        ],
        |ctx, a| {
            let key = parse_key(arg_str(&a[4]))
                .map_err(|e| FuncError::call(format!("parsing private key: {e}")))?;
            self_signed(ctx, &a, &key)
        },
    ),
    def(
        "genSignedCert",
        &[
            Param::String,
            Param::List,
            Param::List,
            Param::Int,
            Param::Any,
        ],
        |ctx, a| {
            let key = new_rsa(2048)?;
            signed(ctx, &a, &key)
        },
    ),
    def(
        "genSignedCertWithKey",
        &[
            Param::String,
            Param::List,
            Param::List,
            Param::Int,
            Param::Any,
            Param::String,
        ],
        |ctx, a| {
            let key = parse_key(arg_str(&a[5]))
                .map_err(|e| FuncError::call(format!("parsing private key: {e}")))?;
            signed(ctx, &a, &key)
        },
    ),
    def(
        "buildCustomCert",
        &[Param::String, Param::String],
        build_custom_cert,
    ),
];

/// Sprig's `certificate` struct: `.Cert` and `.Key` PEM texts.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub cert: String,
    pub key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn kind_name(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::str(self.cert.as_str())),
            "Key" => Some(Value::str(self.key.as_str())),
            _ => None,
        }
    }
    fn format_v(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("Cert".into(), Value::str(self.cert.as_str()));
        m.insert("Key".into(), Value::str(self.key.as_str()));
        Value::map(m)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A new RSA key with public exponent 65537 and a modulus of exactly `bits` bits. The primes
/// come from a sieve plus Miller-Rabin search over `rsa`'s big integers, which is several
/// times faster than `RsaPrivateKey::new` (that cost shows on every chart that calls genCA).
fn new_rsa(bits: usize) -> Result<rsa::RsaPrivateKey, FuncError> {
    for _ in 0..64 {
        let p = random_prime(bits / 2);
        let q = random_prime(bits - bits / 2);
        if p == q {
            continue;
        }
        if let Ok(key) = rsa::RsaPrivateKey::from_p_q(p, q, rsa::BigUint::from(65_537u32))
            && key.n().bits() == bits
        {
            return Ok(key);
        }
    }
    Err(FuncError::call(
        "error generating rsa key: no suitable primes found",
    ))
}

/// The odd primes below 17,400 (the first 2,000), for sieving candidates.
fn small_primes() -> &'static [u32] {
    static PRIMES: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    PRIMES.get_or_init(|| {
        let mut primes: Vec<u32> = Vec::with_capacity(2000);
        let mut n = 3u32;
        while primes.len() < 2000 {
            if primes
                .iter()
                .take_while(|p| *p * *p <= n)
                .all(|p| !n.is_multiple_of(*p))
            {
                primes.push(n);
            }
            n += 2;
        }
        primes
    })
}

/// A random probable prime of exactly `bits` bits with its top two bits set.
fn random_prime(bits: usize) -> rsa::BigUint {
    let primes = small_primes();
    loop {
        let mut bytes = random_bytes(bits.div_ceil(8));
        let extra = bytes.len() * 8 - bits;
        bytes[0] &= 0xff >> extra;
        bytes[0] |= 0xc0 >> extra;
        let last = bytes.len() - 1;
        bytes[last] |= 1;
        let base = rsa::BigUint::from_bytes_be(&bytes);
        let rems: Vec<u32> = primes
            .iter()
            .map(|&p| {
                bytes
                    .iter()
                    .fold(0u64, |r, b| (r * 256 + u64::from(*b)) % u64::from(p))
                    as u32
            })
            .collect();
        for delta in (0u32..1 << 16).step_by(2) {
            if primes
                .iter()
                .zip(&rems)
                .any(|(&p, &r)| (r + delta) % p == 0)
            {
                continue;
            }
            let candidate = &base + rsa::BigUint::from(delta);
            if candidate.bits() == bits && miller_rabin(&candidate, 12) {
                return candidate;
            }
        }
    }
}

/// Miller-Rabin with base 2 first, then `rounds` random bases.
fn miller_rabin(n: &rsa::BigUint, rounds: usize) -> bool {
    let one = rsa::BigUint::from(1u32);
    let two = rsa::BigUint::from(2u32);
    let n_minus_1 = n - &one;
    let s = n_minus_1.trailing_zeros().unwrap_or(0);
    let d = &n_minus_1 >> s;
    let len = n.to_bytes_be().len();
    for round in 0..=rounds {
        let a = if round == 0 {
            two.clone()
        } else {
            rsa::BigUint::from_bytes_be(&random_bytes(len)) % (n - 3u32) + &two
        };
        let mut x = a.modpow(&d, n);
        if x == one || x == n_minus_1 {
            continue;
        }
        let mut witness = true;
        for _ in 1..s {
            x = (&x * &x) % n;
            if x == n_minus_1 {
                witness = false;
                break;
            }
        }
        if witness {
            return false;
        }
    }
    true
}

/// Go's `pem.Encode`: base64 in 64-column lines between BEGIN/END markers.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = super::encoding::b64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The body of the first PEM block: (label, DER).
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body_start = label_end + 5;
    let end = rest.find(&format!("-----END {label}-----"))?;
    let body: String = rest[body_start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = b64_decode(body.as_bytes()).ok()?;
    Some((label, der))
}

fn rsa_pem(key: &rsa::RsaPrivateKey) -> String {
    let der = key
        .to_pkcs1_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    pem("RSA PRIVATE KEY", &der)
}

/// Sprig `genPrivateKey TYPE`: `rsa` (4096 bits, the default), `ecdsa` (P-256), `ed25519`.
fn gen_private_key(kind: &str) -> String {
    match kind {
        "" | "rsa" => match new_rsa(4096) {
            Ok(k) => rsa_pem(&k),
            Err(FuncError::Call(m)) => format!("failed to generate private key: {m}"),
            Err(_) => String::new(),
        },
        "ecdsa" => match p256_sec1() {
            Some(der) => pem("EC PRIVATE KEY", &der),
            None => "failed to generate private key: ecdsa".into(),
        },
        "ed25519" => {
            let seed = random_bytes(32);
            let mut inner = der_tlv(0x04, &seed);
            inner = der_tlv(0x04, &inner);
            let alg = der_seq(&[der_oid(&[1, 3, 101, 112])]);
            pem("PRIVATE KEY", &der_seq(&[der_int_small(0), alg, inner]))
        }
        "dsa" => "failed to generate dsa params: DSA keys are not supported".into(),
        other => format!("Unknown type {other}"),
    }
}

/// A fresh P-256 key as SEC1 `ECPrivateKey` DER (Go's `x509.MarshalECPrivateKey`).
fn p256_sec1() -> Option<Vec<u8>> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .ok()?;
    // PKCS#8: SEQ { INT 0, SEQ { oid, oid }, OCTET STRING { ECPrivateKey } }.
    let top = der_children(der_children(pkcs8.as_ref())?.first()?.1)?;
    let inner = top.get(2)?.1;
    let ec = der_children(der_children(inner)?.first()?.1)?;
    let scalar = ec.get(1)?.1;
    let public = ec
        .iter()
        .find(|(tag, _)| *tag == 0xa1)
        .map(|(_, body)| body.to_vec())?;
    let curve = der_tlv(0xa0, &der_oid(&[1, 2, 840, 10045, 3, 1, 7]));
    Some(der_seq(&[
        der_int_small(1),
        der_tlv(0x04, scalar),
        curve,
        der_tlv(0xa1, &public),
    ]))
}

/// Sprig's `parsePrivateKeyPEM`, for the key types that can sign here (RSA).
fn parse_key(text: &str) -> Result<rsa::RsaPrivateKey, String> {
    let (label, der) = pem_decode(text).ok_or("no PEM data in input")?;
    match label.as_str() {
        "PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs8_der(&der)
            .map_err(|e| format!("decoding PEM as PKCS#8: {e}")),
        "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        l if l.ends_with(" PRIVATE KEY") => Err(format!("unsupported private key type {l}")),
        l => Err(format!("no private key data in PEM block of type {l}")),
    }
}

// ---- minimal DER ----------------------------------------------------------------------

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

fn der_tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(body.len()));
    out.extend_from_slice(body);
    out
}

fn der_seq(items: &[Vec<u8>]) -> Vec<u8> {
    der_tlv(0x30, &items.concat())
}

/// A non-negative INTEGER from big-endian magnitude bytes.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|x| *x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    der_tlv(0x02, &b)
}

fn der_int_small(v: u8) -> Vec<u8> {
    der_uint(&[v])
}

fn der_oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            chunk.insert(0, 0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        body.extend(chunk);
    }
    der_tlv(0x06, &body)
}

/// The (tag, body) children of a constructed DER value's body.
fn der_children(mut body: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let tag = body[0];
        let first = *body.get(1)?;
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            let len = body
                .get(2..2 + n)?
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + n)
        };
        out.push((tag, body.get(hdr..hdr + len)?));
        body = &body[hdr + len..];
    }
    Some(out)
}

/// The raw TLV bytes of each child (to copy a Name verbatim).
fn der_children_raw(mut body: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let first = *body.get(1)?;
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            let len = body
                .get(2..2 + n)?
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + n)
        };
        out.push(body.get(..hdr + len)?);
        body = &body[hdr + len..];
    }
    Some(out)
}

// ---- certificates ---------------------------------------------------------------------

/// What the new certificate says about itself.
struct Template {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

fn name_der(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return der_seq(&[]);
    }
    let printable = cn
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    let value = der_tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    let atv = der_seq(&[der_oid(&[2, 5, 4, 3]), value]);
    der_seq(&[der_tlv(0x31, &atv)])
}

fn asn1_time(t: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    use chrono::Datelike as _;
    if (1950..2050).contains(&t.year()) {
        der_tlv(0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        der_tlv(0x18, t.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
    }
}

fn rsa_spki(key: &rsa::RsaPublicKey) -> Vec<u8> {
    let pkcs1 = key
        .to_pkcs1_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    let mut bits = vec![0u8];
    bits.extend(pkcs1);
    der_seq(&[
        der_seq(&[der_oid(&[1, 2, 840, 113549, 1, 1, 1]), vec![0x05, 0x00]]),
        der_tlv(0x03, &bits),
    ])
}

fn extension(oid: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![der_oid(oid)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(der_tlv(0x04, &value));
    der_seq(&parts)
}

/// Build and sign a certificate; `issuer` is (Name DER, subject key id) of the signer, or
/// `None` for self-signed.
fn create_cert(
    now: chrono::DateTime<chrono::Utc>,
    t: &Template,
    subject_key: &rsa::RsaPublicKey,
    issuer: Option<(Vec<u8>, Option<Vec<u8>>)>,
    signer: &rsa::RsaPrivateKey,
) -> Result<Vec<u8>, FuncError> {
    let mut serial = random_bytes(16);
    serial[0] &= 0x7f;
    let sig_alg = der_seq(&[der_oid(&[1, 2, 840, 113549, 1, 1, 11]), vec![0x05, 0x00]]);
    let subject = name_der(&t.cn);
    let spki = rsa_spki(subject_key);
    let ski: Vec<u8> = {
        let pkcs1 = subject_key
            .to_pkcs1_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        sha1::Sha1::digest(&pkcs1).to_vec()
    };
    let (issuer_name, authority_ki) = match issuer {
        Some((name, aki)) => (name, aki),
        None => (subject.clone(), None),
    };
    let key_usage: &[u8] = if t.is_ca {
        &[0x02, 0xa4]
    } else {
        &[0x05, 0xa0]
    };
    let mut exts = vec![extension(&[2, 5, 29, 15], true, der_tlv(0x03, key_usage))];
    exts.push(extension(
        &[2, 5, 29, 37],
        false,
        der_seq(&[
            der_oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
            der_oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
        ]),
    ));
    let bc = if t.is_ca {
        der_seq(&[vec![0x01, 0x01, 0xff]])
    } else {
        der_seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, bc));
    if t.is_ca {
        exts.push(extension(&[2, 5, 29, 14], false, der_tlv(0x04, &ski)));
    }
    if let Some(aki) = authority_ki {
        exts.push(extension(
            &[2, 5, 29, 35],
            false,
            der_seq(&[der_tlv(0x80, &aki)]),
        ));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = t.dns.iter().map(|d| der_tlv(0x82, d.as_bytes())).collect();
        names.extend(t.ips.iter().map(|ip| der_tlv(0x87, ip)));
        exts.push(extension(&[2, 5, 29, 17], false, der_seq(&names)));
    }
    let not_after = now + chrono::Duration::hours(24 * t.days);
    let tbs = der_seq(&[
        der_tlv(0xa0, &der_int_small(2)),
        der_uint(&serial),
        sig_alg.clone(),
        issuer_name,
        der_seq(&[asn1_time(now), asn1_time(not_after)]),
        subject,
        spki,
        der_tlv(0xa3, &der_seq(&exts)),
    ]);
    // PKCS#1 v1.5 with SHA-256: DigestInfo prefix + hash, signed raw.
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    digest_info.extend(sha2::Sha256::digest(&tbs));
    let sig = signer
        .sign(rsa::Pkcs1v15Sign::new_unprefixed(), &digest_info)
        .map_err(|e| FuncError::call(format!("error creating certificate: {e}")))?;
    let mut bits = vec![0u8];
    bits.extend(sig);
    Ok(der_seq(&[tbs, sig_alg, der_tlv(0x03, &bits)]))
}

fn cert_value(der: &[u8], key: &rsa::RsaPrivateKey) -> Value {
    Value::Object(Rc::new(Certificate {
        cert: pem("CERTIFICATE", der),
        key: rsa_pem(key),
    }))
}

fn ca(ctx: &mut dyn CallCtx, cn: &str, days: i64, key: &rsa::RsaPrivateKey) -> FuncResult {
    let t = Template {
        cn: cn.to_string(),
        ips: Vec::new(),
        dns: Vec::new(),
        days,
        is_ca: true,
    };
    let der = create_cert(ctx.now().to_utc(), &t, &key.to_public_key(), None, key)?;
    Ok(cert_value(&der, key))
}

/// Sprig's `getNetIPs`/`getAlternateDNSStrs` for the ips/dns list arguments.
fn template_from(a: &[Value], is_ca: bool) -> Result<Template, FuncError> {
    let items = |v: &Value| match v {
        Value::List(l) => l.items.clone(),
        _ => Vec::new(),
    };
    let mut ips = Vec::new();
    for ip in items(&a[1]) {
        let Value::String(s) = &ip else {
            return Err(FuncError::call(format!(
                "error parsing ip: {} is not a string",
                super::bridge::format_v(&ip)
            )));
        };
        let parsed: std::net::IpAddr = s
            .parse()
            .map_err(|_| FuncError::call(format!("error parsing ip: {s}")))?;
        ips.push(match parsed {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
        });
    }
    let mut dns = Vec::new();
    for d in items(&a[2]) {
        let Value::String(s) = &d else {
            return Err(FuncError::call(format!(
                "error processing alternate dns name: {} is not a string",
                super::bridge::format_v(&d)
            )));
        };
        dns.push(s.to_string());
    }
    Ok(Template {
        cn: arg_str(&a[0]).to_string(),
        ips,
        dns,
        days: arg_int(&a[3]),
        is_ca,
    })
}

fn self_signed(ctx: &mut dyn CallCtx, a: &[Value], key: &rsa::RsaPrivateKey) -> FuncResult {
    let t = template_from(a, false)?;
    let der = create_cert(ctx.now().to_utc(), &t, &key.to_public_key(), None, key)?;
    Ok(cert_value(&der, key))
}

fn signed(ctx: &mut dyn CallCtx, a: &[Value], key: &rsa::RsaPrivateKey) -> FuncResult {
    let parent = match &a[4] {
        Value::Object(o) => o.as_any().downcast_ref::<Certificate>().cloned(),
        _ => None,
    }
    .ok_or_else(|| {
        FuncError::call(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            a[4].type_name()
        ))
    })?;
    let (_, ca_der) =
        pem_decode(&parent.cert).ok_or_else(|| FuncError::call("unable to decode certificate"))?;
    let (issuer_name, ca_ski) = parse_cert_subject(&ca_der).ok_or_else(|| {
        FuncError::call(
            "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate",
        )
    })?;
    let signer = parse_key(&parent.key)
        .map_err(|e| FuncError::call(format!("error parsing private key: {e}")))?;
    let t = template_from(a, false)?;
    let der = create_cert(
        ctx.now().to_utc(),
        &t,
        &key.to_public_key(),
        Some((issuer_name, ca_ski)),
        &signer,
    )?;
    Ok(cert_value(&der, key))
}

/// The subject Name (raw DER) and subject key identifier of a certificate.
fn parse_cert_subject(der: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let cert = der_children(der_children(der)?.first()?.1)?;
    let tbs_body = cert.first()?.1;
    let raw = der_children_raw(tbs_body)?;
    let parsed = der_children(tbs_body)?;
    let offset = usize::from(parsed.first()?.0 == 0xa0);
    let subject = raw.get(offset + 4)?.to_vec();
    let mut ski = None;
    if let Some((_, ext_wrap)) = parsed.iter().find(|(tag, _)| *tag == 0xa3) {
        for (_, ext) in der_children(der_children(ext_wrap)?.first()?.1)? {
            let fields = der_children(ext)?;
            if fields.first()?.1 == [0x55, 0x1d, 0x0e] {
                let octets = fields.last()?.1;
                ski = Some(der_children(octets)?.first()?.1.to_vec());
            }
        }
    }
    Some((subject, ski))
}

/// Sprig `buildCustomCert B64CERT B64KEY`.
fn build_custom_cert(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    let cert = b64_decode(arg_str(&a[0]).as_bytes())
        .map_err(|_| FuncError::call("unable to decode base64 certificate"))?;
    let key = b64_decode(arg_str(&a[1]).as_bytes())
        .map_err(|_| FuncError::call("unable to decode base64 private key"))?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) =
        pem_decode(&cert).ok_or_else(|| FuncError::call("unable to decode certificate"))?;
    if parse_cert_subject(&der).is_none() {
        return Err(FuncError::call(
            "error parsing certificate: decodedCert.Bytes: x509: malformed certificate",
        ));
    }
    if pem_decode(&key).is_none() {
        return Err(FuncError::call(
            "error parsing private key: no PEM data in input",
        ));
    }
    Ok(Value::Object(Rc::new(Certificate { cert, key })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Miller-Rabin accepts known primes and rejects composites, including Carmichael numbers.
    #[test]
    fn miller_rabin_known_numbers() {
        let big = |s: &str| rsa::BigUint::parse_bytes(s.as_bytes(), 10).expect("decimal");
        assert!(miller_rabin(
            &big("170141183460469231731687303715884105727"),
            12
        )); // 2^127-1
        assert!(miller_rabin(&big("1000000007"), 12));
        assert!(!miller_rabin(&big("561"), 12)); // Carmichael
        assert!(!miller_rabin(&big("3825123056546413051"), 12)); // strong pseudoprime to small bases
        assert!(!miller_rabin(
            &big("170141183460469231731687303715884105729"),
            12
        )); // 2^127+1
        let p = random_prime(256);
        assert_eq!(p.bits(), 256);
        assert!(miller_rabin(&p, 12));
    }

    /// A generated CA parses back: its subject is found and the RSA modulus is 2048 bits.
    #[test]
    fn ca_roundtrip() {
        let key = new_rsa(2048).expect("rsa key");
        assert_eq!(key.n().bits(), 2048);
        let t = Template {
            cn: "ca".into(),
            ips: vec![],
            dns: vec![],
            days: 1,
            is_ca: true,
        };
        let der =
            create_cert(chrono::Utc::now(), &t, &key.to_public_key(), None, &key).expect("cert");
        let (subject, ski) = parse_cert_subject(&der).expect("parses");
        assert_eq!(subject, name_der("ca"));
        assert_eq!(ski.map(|s| s.len()), Some(20));
    }
}
