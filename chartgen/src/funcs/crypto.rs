//! Sprig's hashes, random values and crypto: `sha1sum`/`sha256sum`/`sha512sum`/`adler32sum`,
//! `uuidv4`, `randBytes`, `bcrypt`/`htpasswd`, `derivePassword`, `encryptAES`/`decryptAES`,
//! and the key/certificate generators (`genPrivateKey`, `genCA`, `genSignedCert`, ...).

use super::encoding::{b64_decode, b64_encode};
use super::{CallCtx, FuncDef, FuncError, FuncResult, Param, arg_int, arg_str, def, ok_str};
use crate::value::{Value, go_bytes, go_string};
use sha2::Digest as _;

pub(super) const FUNCS: &[FuncDef] = &[
    def("sha1sum", &[Param::String], |_, a| {
        ok_str(hex(&sha1::Sha1::digest(go_bytes(arg_str(&a[0])))))
    }),
    def("sha256sum", &[Param::String], |_, a| {
        ok_str(hex(&sha2::Sha256::digest(go_bytes(arg_str(&a[0])))))
    }),
    def("sha512sum", &[Param::String], |_, a| {
        ok_str(hex(&sha2::Sha512::digest(go_bytes(arg_str(&a[0])))))
    }),
    def("adler32sum", &[Param::String], |_, a| {
        ok_str(adler32(&go_bytes(arg_str(&a[0]))).to_string())
    }),
    def("uuidv4", &[], |_, _| ok_str(uuidv4())),
    def("randBytes", &[Param::Int], |_, a| {
        let n = arg_int(&a[0]);
        if n < 0 {
            return Err(FuncError::call(
                "runtime error: makeslice: len out of range",
            ));
        }
        ok_str(b64_encode(&random_bytes(n as usize)))
    }),
    def("bcrypt", &[Param::String], |_, a| {
        ok_str(bcrypt_hash(arg_str(&a[0])))
    }),
    def("htpasswd", &[Param::String, Param::String], |_, a| {
        let (user, pass) = (arg_str(&a[0]), arg_str(&a[1]));
        if user.contains(':') {
            return ok_str(format!("invalid username: {user}"));
        }
        ok_str(format!("{user}:{}", bcrypt_hash(pass)))
    }),
    def(
        "derivePassword",
        &[
            Param::Int64,
            Param::String,
            Param::String,
            Param::String,
            Param::String,
        ],
        derive_password,
    ),
    def("encryptAES", &[Param::String, Param::String], encrypt_aes),
    def("decryptAES", &[Param::String, Param::String], decrypt_aes),
];

/// Lower-case hex, as Go's `hex.EncodeToString`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// `n` bytes from the operating system's CSPRNG.
pub(super) fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system provides random bytes");
    buf
}

/// A uniform random number in `0..n` (`n > 0`).
pub(super) fn random_below(n: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("the operating system provides random bytes");
        let x = u64::from_le_bytes(b);
        if x < zone {
            return x % n;
        }
    }
}

/// A random (version 4, RFC 4122 variant) UUID in its canonical form.
fn uuidv4() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// golang.org/x/crypto/bcrypt with the default cost 10, `$2a$` prefix.
fn bcrypt_hash(password: &str) -> String {
    match bcrypt::hash_with_result(password, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

/// The Master Password algorithm's templates per password type.
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Sprig `derivePassword COUNTER TYPE PASSWORD USER SITE` (Master Password algorithm).
fn derive_password(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    use hmac::{KeyInit as _, Mac as _};
    let counter = arg_int(&a[0]) as u32;
    let (kind, password, user, site) = (
        arg_str(&a[1]),
        arg_str(&a[2]),
        arg_str(&a[3]),
        arg_str(&a[4]),
    );
    let Some(templates) = password_templates(kind) else {
        return ok_str(format!("cannot find password template {kind}"));
    };
    let mut salt = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2).map_err(|e| FuncError::call(e.to_string()))?;
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return ok_str(format!("failed to derive password: {e}"));
    }
    let mut msg = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key)
        .map_err(|e| FuncError::call(e.to_string()))?;
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[seed[0] as usize % templates.len()].as_bytes();
    let out: String = template
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(*c);
            char::from(chars[seed[i + 1] as usize % chars.len()])
        })
        .collect();
    ok_str(out)
}

/// The AES-256 key Sprig derives from a password: its bytes, zero-padded or cut to 32.
fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit as _;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aes::Aes256::new(&key.into())
}

/// Sprig `encryptAES`: AES-256-CBC, PKCS#7 padding, random IV prefix, base64.
fn encrypt_aes(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    use aes::cipher::BlockCipherEncrypt as _;
    let (password, plain) = (arg_str(&a[0]), arg_str(&a[1]));
    if plain.is_empty() {
        return ok_str("");
    }
    let cipher = aes_key(password);
    let mut content = go_bytes(plain).into_owned();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = random_bytes(16);
    let mut prev: [u8; 16] = out[..16].try_into().expect("16-byte IV");
    for block in content.chunks(16) {
        let mut b = [0u8; 16];
        for i in 0..16 {
            b[i] = block[i] ^ prev[i];
        }
        let mut ga = aes::Block::from(b);
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&prev);
    }
    ok_str(b64_encode(&out))
}

/// Sprig `decryptAES`, the inverse of `encryptAES`.
fn decrypt_aes(_: &mut dyn CallCtx, a: Vec<Value>) -> FuncResult {
    use aes::cipher::BlockCipherDecrypt as _;
    let (password, text) = (arg_str(&a[0]), arg_str(&a[1]));
    if text.is_empty() {
        return ok_str("");
    }
    let data = b64_decode(text.as_bytes())
        .map_err(|at| FuncError::call(format!("illegal base64 data at input byte {at}")))?;
    if data.len() < 16 {
        return Err(FuncError::call(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            data.len()
        )));
    }
    if (data.len() - 16) % 16 != 0 {
        return Err(FuncError::call("crypto/cipher: input not full blocks"));
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = data[..16].try_into().expect("16-byte IV");
    let mut plain = Vec::new();
    for block in data[16..].chunks(16) {
        let mut ga = aes::Block::from(<[u8; 16]>::try_from(block).expect("full block"));
        cipher.decrypt_block(&mut ga);
        for i in 0..16 {
            plain.push(ga[i] ^ prev[i]);
        }
        prev.copy_from_slice(block);
    }
    let Some(&pad) = plain.last() else {
        return Err(FuncError::call("runtime error: index out of range [-1]"));
    };
    let keep = plain.len().checked_sub(pad as usize).ok_or_else(|| {
        FuncError::call(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - i64::from(pad)
        ))
    })?;
    ok_str(go_string(&plain[..keep]))
}
