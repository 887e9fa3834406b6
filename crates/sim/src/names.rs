//! Name pools for synthetic residents.
//!
//! Surname weights follow the rough frequency of surnames in rural Hebei
//! (王, 李, 张 and 刘 alone cover about a quarter of people). Given-name
//! characters differ by generation: 秀英 and 建国 are typical of people born
//! before the 1970s, 子涵 and 浩宇 of children today.

use crate::rng::Rng;

pub(crate) const SURNAMES: [(&str, u32); 72] = [
    ("王", 72),
    ("李", 70),
    ("张", 68),
    ("刘", 52),
    ("赵", 30),
    ("杨", 25),
    ("高", 20),
    ("陈", 18),
    ("孙", 16),
    ("马", 14),
    ("郭", 14),
    ("田", 10),
    ("董", 9),
    ("韩", 9),
    ("冯", 8),
    ("贾", 8),
    ("石", 7),
    ("魏", 7),
    ("杜", 6),
    ("崔", 6),
    ("宋", 6),
    ("周", 6),
    ("吕", 5),
    ("苏", 5),
    ("梁", 5),
    ("许", 5),
    ("徐", 5),
    ("胡", 5),
    ("朱", 5),
    ("吴", 4),
    ("郑", 4),
    ("曹", 4),
    ("邢", 4),
    ("范", 4),
    ("侯", 4),
    ("何", 3),
    ("谢", 3),
    ("袁", 3),
    ("齐", 3),
    ("靳", 3),
    ("耿", 3),
    ("牛", 3),
    ("白", 3),
    ("康", 3),
    ("常", 3),
    ("段", 3),
    ("薛", 3),
    ("史", 3),
    ("安", 3),
    ("闫", 3),
    ("武", 3),
    ("申", 2),
    ("尹", 2),
    ("甄", 2),
    ("葛", 2),
    ("霍", 2),
    ("谷", 2),
    ("翟", 2),
    ("路", 2),
    ("温", 2),
    ("庞", 2),
    ("蔡", 2),
    ("彭", 2),
    ("姚", 2),
    ("卢", 2),
    ("付", 2),
    ("贺", 2),
    ("秦", 2),
    ("司", 1),
    ("孟", 2),
    ("欧阳", 1),
    ("诸葛", 1),
];

const MALE_OLD: [&str; 36] = [
    "建", "国", "军", "明", "志", "强", "华", "平", "福", "德", "文", "振", "海", "庆", "学", "金",
    "永", "春", "来", "顺", "林", "树", "印", "栓", "增", "胜", "保", "玉", "全", "成", "贵", "祥",
    "占", "宝", "山", "民",
];
const MALE_YOUNG: [&str; 32] = [
    "浩", "宇", "轩", "子", "博", "涵", "俊", "杰", "睿", "泽", "晨", "航", "梓", "昊", "鹏", "凯",
    "伟", "磊", "涛", "辉", "超", "帅", "阳", "鑫", "一", "思", "宏", "瑞", "宁", "飞", "嘉", "铭",
];
const FEMALE_OLD: [&str; 26] = [
    "秀", "英", "兰", "桂", "芳", "玉", "珍", "凤", "华", "霞", "荣", "淑", "敏", "红", "丽", "琴",
    "梅", "云", "花", "香", "翠", "巧", "爱", "素", "平", "娥",
];
const FEMALE_YOUNG: [&str; 32] = [
    "欣", "怡", "梓", "涵", "雨", "萱", "佳", "琪", "思", "悦", "诗", "晗", "婷", "静", "雪", "颖",
    "洁", "莉", "娜", "丹", "璐", "瑶", "彤", "可", "馨", "若", "一", "依", "晶", "倩", "梦", "月",
];

/// Picks surnames by frequency.
pub(crate) struct SurnamePicker {
    cumulative: Vec<u32>,
}

impl SurnamePicker {
    pub(crate) fn new() -> SurnamePicker {
        SurnamePicker {
            cumulative: crate::rng::cumulative(SURNAMES.iter().map(|(_, w)| *w)),
        }
    }

    /// Index into [`SURNAMES`].
    pub(crate) fn pick(&self, rng: &mut Rng) -> usize {
        rng.weighted(&self.cumulative)
    }
}

/// A given name of one or two characters suited to the sex and birth year.
pub(crate) fn given_name(rng: &mut Rng, male: bool, birth_year: i32, out: &mut String) {
    // Around 1975 naming fashions turn; a few people get the other style anyway.
    let old = (birth_year < 1975) != rng.chance(0.1);
    let pool: &[&str] = match (male, old) {
        (true, true) => &MALE_OLD,
        (true, false) => &MALE_YOUNG,
        (false, true) => &FEMALE_OLD,
        (false, false) => &FEMALE_YOUNG,
    };
    let first: &&str = rng.pick(pool);
    out.push_str(first);
    if rng.chance(0.8) {
        let second: &&str = rng.pick(pool);
        out.push_str(second);
    }
}

/// A full name with the given surname index.
pub(crate) fn full_name(rng: &mut Rng, surname: usize, male: bool, birth_year: i32) -> String {
    let mut name = String::with_capacity(12);
    name.push_str(SURNAMES[surname].0);
    given_name(rng, male, birth_year, &mut name);
    name
}

/// Prefixes of mainland mobile numbers in common use in Hebei.
const MOBILE_PREFIXES: [&str; 30] = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182",
    "183", "185", "187", "188",
];

pub(crate) fn mobile(rng: &mut Rng) -> String {
    let prefix = rng.pick(&MOBILE_PREFIXES);
    let rest = rng.below(100_000_000);
    format!("{prefix}{rest:08}")
}
