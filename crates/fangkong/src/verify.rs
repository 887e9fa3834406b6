//! `fangkong verify`: checks a scanned QR text offline, with only a trust list file — what a
//! checkpoint device without a network does. Health codes (FK1:) need the issuers' public keys
//! (`fangkong trust-list` prints them); EU DCCs (HC1:) need the signer certificates (`--dsc`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use fangkong_signed_code::{DscTrustList, TrustList, verify_code, verify_dcc};

#[derive(Args)]
pub struct VerifyArgs {
    /// The text the scanner read: FK1:… (health code) or HC1:… (EU Digital COVID Certificate).
    pub text: String,
    /// The trust list JSON of health-code issuers (from `fangkong trust-list`).
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// DCC signer certificates: a file with one base64 DER certificate per line, or a JSON list.
    #[arg(long)]
    pub dsc: Option<PathBuf>,
    /// Verify as of this time instead of now: ISO 8601 with `Z`, `+00:00` or `+0000`
    /// (2021-06-01T10:00:00Z, 2021-06-01T10:00:00+0000), or without an offset, which is read as UTC.
    #[arg(long)]
    pub at: Option<String>,
}

/// Runs the check; prints the answer in Chinese and the claims as JSON. Returns whether it passed.
pub fn run(args: &VerifyArgs) -> Result<bool> {
    let now = match &args.at {
        Some(at) => fangkong_signed_code::parse_clock(at).with_context(|| {
            format!(
                "--at {at}: 无法识别的时间，应为 ISO 8601，例如 2021-06-01T10:00:00Z、2021-06-01T10:00:00+0000，或不带时区（按 UTC）"
            )
        })?,
        None => chrono::Utc::now().timestamp(),
    };
    let text = args.text.trim();
    if text.starts_with("HC1:") {
        let Some(path) = &args.dsc else {
            bail!("欧盟数字新冠证书需要签名证书列表：--dsc <文件>");
        };
        let raw =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        let certificates: Vec<String> = match serde_json::from_str::<Vec<String>>(&raw) {
            Ok(list) => list,
            Err(_) => raw
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        };
        let mut trust = DscTrustList::new();
        for (i, cert) in certificates.iter().enumerate() {
            trust
                .add_certificate_base64(cert)
                .map_err(|e| anyhow::anyhow!("第{}个证书：{}", i + 1, e.words_zh()))?;
        }
        return Ok(match verify_dcc(&trust, text, now) {
            Ok(dcc) => {
                println!(
                    "有效：欧盟数字新冠证书（{}），签发国 {}，持有人 {} {}，出生 {}",
                    dcc.kind.label_zh(),
                    dcc.issuer_country,
                    dcc.family_name,
                    dcc.given_name,
                    dcc.date_of_birth
                );
                println!("{}", serde_json::to_string_pretty(&dcc.payload)?);
                true
            }
            Err(rejection) => {
                println!("拒绝（{}）：{}", rejection.code(), rejection.words_zh());
                false
            }
        });
    }
    let Some(path) = &args.trust else {
        bail!("健康码需要信任列表：--trust <文件>（用 fangkong trust-list 导出）");
    };
    let json = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let trust =
        TrustList::from_json(&json).map_err(|e| anyhow::anyhow!("信任列表无法读取：{e}"))?;
    Ok(match verify_code(&trust, text, now) {
        Ok(claims) => {
            println!(
                "有效：{}{}，签发 {}，有效至 {}（Unix 秒）",
                claims.colour.label_zh(),
                if claims.popup { "（弹窗）" } else { "" },
                claims.issuer,
                claims.expires_at
            );
            println!(
                "{}",
                serde_json::json!({
                    "issuer": claims.issuer,
                    "issued_at": claims.issued_at,
                    "expires_at": claims.expires_at,
                    "subject": claims.subject,
                    "colour": claims.colour.code(),
                    "popup": claims.popup,
                    "last_negative_sampled_at": claims.last_negative_sampled_at,
                })
            );
            true
        }
        Err(rejection) => {
            println!("拒绝（{}）：{}", rejection.code(), rejection.words_zh());
            false
        }
    })
}
