//! What the whitelist and pass pages and the API show: personal data masked, codes with their
//! Chinese labels, times in Beijing time.

use fangkong_domain::supplies::passes::{
    EnterpriseKind, GoodsCategory, NEGATIVE_WITHIN_HOURS, PassKind, PassStatus, SupplyRole,
    SupplyVehicleKind,
};
use fangkong_store::supplies::passes::{
    PassPersonRow, SupplyEnterpriseRecord, SupplyPassRecord, SupplyPersonRecord,
    SupplyVehicleRecord,
};
use serde::Serialize;

use super::label;
use crate::population::mask_document;

/// A whitelisted enterprise.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub region_code: String,
    pub credit_code: String,
    pub certificate_no: String,
    pub phone_masked: String,
}

/// A whitelisted vehicle.
#[derive(Debug, Clone, Serialize)]
pub struct VehicleView {
    pub id: i64,
    pub plate: String,
    pub kind_label: &'static str,
    pub licence_no: String,
}

/// A whitelisted person, masked.
#[derive(Debug, Clone, Serialize)]
pub struct SupplyPersonView {
    pub id: i64,
    pub role: String,
    pub role_label: &'static str,
    pub name_masked: String,
    pub id_masked: String,
    pub phone_masked: String,
    pub document_no: String,
    /// The registered negative report's sampling time ('' for none) and whether it is within 48 h.
    pub negative: String,
    pub negative_fresh: bool,
}

/// A pass in lists.
#[derive(Debug, Clone, Serialize)]
pub struct PassView {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub plate: String,
    pub goods_label: &'static str,
    pub route: Vec<String>,
    pub valid_from: String,
    pub valid_until: String,
    /// 有效 / 已过期 / 未生效 / 已撤销.
    pub state_label: &'static str,
    pub revoked_reason: String,
    pub issued_by: String,
    pub issued_at: String,
}

/// A person bound to a pass, masked.
#[derive(Debug, Clone, Serialize)]
pub struct PassPersonView {
    pub role_label: &'static str,
    pub name_masked: String,
    pub id_masked: String,
    pub negative: String,
}

/// One enterprise's page.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseDetail {
    pub enterprise: EnterpriseView,
    pub vehicles: Vec<VehicleView>,
    pub people: Vec<SupplyPersonView>,
    pub passes: Vec<PassView>,
}

/// One pass's page and print: the A4 pass and its QR.
#[derive(Debug, Clone, Serialize)]
pub struct PassDetail {
    pub pass: PassView,
    pub enterprise_name: String,
    pub enterprise_kind: &'static str,
    pub vehicle_kind: &'static str,
    pub county_name: String,
    pub route_names: Vec<String>,
    pub people: Vec<PassPersonView>,
    /// The electronic pass (`FP1:…`), to be drawn as a QR.
    pub qr_text: String,
}

pub(super) fn enterprise_view(e: SupplyEnterpriseRecord) -> EnterpriseView {
    EnterpriseView {
        id: e.id,
        kind_label: EnterpriseKind::from_code(&e.kind)
            .map(EnterpriseKind::label_zh)
            .unwrap_or(""),
        kind: e.kind,
        name: e.name,
        region_code: e.region_code,
        credit_code: e.credit_code,
        certificate_no: e.certificate_no,
        phone_masked: fangkong_domain::phone::PhoneNumber::parse(&e.contact_phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
    }
}

pub(super) fn vehicle_view(v: SupplyVehicleRecord) -> VehicleView {
    VehicleView {
        id: v.id,
        plate: v.plate,
        kind_label: SupplyVehicleKind::from_code(&v.kind)
            .map(SupplyVehicleKind::label_zh)
            .unwrap_or(""),
        licence_no: v.licence_no,
    }
}

pub(super) fn person_view(p: SupplyPersonRecord, now: i64) -> SupplyPersonView {
    SupplyPersonView {
        id: p.id,
        role_label: SupplyRole::from_code(&p.role)
            .map(SupplyRole::label_zh)
            .unwrap_or(""),
        role: p.role,
        name_masked: fangkong_domain::ids::mask_middle(&p.name, 1, 0),
        id_masked: mask_document(&p.id_type, &p.id_number),
        phone_masked: fangkong_domain::phone::PhoneNumber::parse(&p.phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
        document_no: p.document_no,
        negative: p.negative_at.map(label).unwrap_or_default(),
        negative_fresh: p
            .negative_at
            .is_some_and(|at| now - at <= NEGATIVE_WITHIN_HOURS * 3600),
    }
}

pub(super) fn pass_view(p: SupplyPassRecord, now: i64) -> PassView {
    let state_label = if p.status == PassStatus::Revoked.code() {
        "已撤销"
    } else if now > p.valid_until {
        "已过期"
    } else if now < p.valid_from {
        "未生效"
    } else {
        "有效"
    };
    PassView {
        id: p.id,
        kind_label: PassKind::from_code(&p.kind)
            .map(PassKind::label_zh)
            .unwrap_or(""),
        kind: p.kind,
        number: p.number,
        plate: p.plate,
        goods_label: GoodsCategory::from_code(&p.goods)
            .map(GoodsCategory::label_zh)
            .unwrap_or(""),
        route: p.route.split(',').map(str::to_string).collect(),
        valid_from: label(p.valid_from),
        valid_until: label(p.valid_until),
        state_label,
        revoked_reason: p.revoked_reason,
        issued_by: p.issued_by,
        issued_at: label(p.issued_at),
    }
}

pub(super) fn pass_person_view(p: PassPersonRow) -> PassPersonView {
    PassPersonView {
        role_label: SupplyRole::from_code(&p.role)
            .map(SupplyRole::label_zh)
            .unwrap_or(""),
        name_masked: fangkong_domain::ids::mask_middle(&p.name, 1, 0),
        id_masked: mask_document(&p.id_type, &p.id_number),
        negative: label(p.last_negative_at),
    }
}
