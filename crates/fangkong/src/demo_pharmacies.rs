//! The demo's pharmacies (零售药店): three pharmacies of the township register themselves and report
//! real-name sales of the four drug classes over the last days through the real paths (the phone
//! page's function for one sale, the pharmacy systems' batch for the rest), a few with an ID the
//! pharmacy mistyped (flagged); then the requirements' pass runs, so buyers of four and five days
//! ago who never tested have become leads in their grids (visible in /leads and on
//! /warning/pharmacies).

use anyhow::{Context, Result};
use fangkong_app::App;
use fangkong_app::warning::pharmacies::{PharmacyForm, SaleInput};
use fangkong_domain::region::RegionCode;

/// What the demo's pharmacies did.
pub struct PharmacyDemo {
    pub pharmacies: usize,
    pub sales: i64,
    pub flagged: i64,
}

pub async fn seed(app: &App, township: &RegionCode) -> Result<PharmacyDemo> {
    let pharmacy = app.actor_for_user("pharmacy", "demo").await?;
    let villages = app
        .store_for_tools()
        .region_children(township.as_str())
        .await?;
    let names = ["仁和大药房", "百姓平价药店", "康宁医药连锁"];
    let mut licences = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let region = villages
            .get(i)
            .map(|v| v.code.clone())
            .unwrap_or_else(|| township.as_str().to_string());
        let licence = format!("冀DA311{:04}", i + 1);
        let form = PharmacyForm {
            name: format!("增村镇{name}"),
            region_code: region,
            licence_no: licence.clone(),
        };
        app.register_pharmacy(&pharmacy, &form).await?;
        licences.push(licence);
    }
    let (lower, upper) = township.subtree_range();
    let buyers: Vec<_> = app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 400)
        .await?
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .collect();
    anyhow::ensure!(buyers.len() >= 60, "the township has too few residents");
    let drugs = [
        "TR003", "TR001", "ZK003", "ZK005", "KB001", "KB006", "KJ001", "KJ004", "TR012",
    ];
    let now = app.now();
    let at = |hours_ago: i64| {
        (now - chrono::Duration::hours(hours_ago))
            .with_timezone(&fangkong_domain::time::beijing_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    // Sales of the last five days: more each day (a cough and fever season building up).
    let mut inputs = Vec::new();
    let mut n = 0;
    for day in (0..=5_i64).rev() {
        let per_day = 14 - day * 2;
        for k in 0..per_day {
            let buyer = &buyers[(n * 7) % buyers.len()];
            let hours_ago = day * 24 + 1 + (k % 10);
            inputs.push(SaleInput {
                licence_no: licences[n % licences.len()].clone(),
                sale_key: format!("XS{}", 20221100 + n),
                sold_at: at(hours_ago),
                drug: drugs[n % drugs.len()].into(),
                quantity: "1".into(),
                buyer_name: buyer.name.as_str().to_string(),
                id_type: String::new(),
                id_number: if n % 17 == 16 {
                    // A mistyped ID: the sale is kept and flagged.
                    buyer.id_number.as_str().chars().take(17).collect()
                } else {
                    buyer.id_number.to_string()
                },
                phone: buyer
                    .phone
                    .as_ref()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
            });
            n += 1;
        }
    }
    // The newest sale typed on the phone page, the rest from the pharmacies' systems.
    let last = inputs.pop().context("a sale")?;
    let mine = app
        .pharmacies_of(&pharmacy)
        .await?
        .into_iter()
        .find(|p| p.licence_no == last.licence_no)
        .context("the demo pharmacy")?;
    let (report, _) = app.report_pharmacy_sales(&pharmacy, &inputs).await?;
    anyhow::ensure!(
        report.problems.is_empty(),
        "demo sales refused: {:?}",
        report.problems.first()
    );
    let one = app.report_pharmacy_sale(&pharmacy, mine.id, &last).await?;
    app.run_pharmacy_requirements().await?;
    Ok(PharmacyDemo {
        pharmacies: names.len(),
        sales: report.recorded + i64::from(one.sale_id.is_some()),
        flagged: report.flagged + i64::from(one.flagged.is_some()),
    })
}
