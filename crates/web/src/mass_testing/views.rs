//! The swabs-per-hour chart of a round, drawn by the server as SVG.

use super::*;

pub struct ChartBar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub title: String,
}

pub struct ChartLabel {
    pub x: i64,
    pub text: String,
}

pub struct Chart {
    pub width: i64,
    pub height: i64,
    /// The y of the bars' base line.
    pub base: i64,
    pub max: i64,
    pub bars: Vec<ChartBar>,
    pub labels: Vec<ChartLabel>,
    pub total: i64,
}

impl Chart {
    const WIDTH: i64 = 720;
    const HEIGHT: i64 = 200;
    const LEFT: i64 = 44;
    const TOP: i64 = 14;
    const BOTTOM: i64 = 24;
    /// The chart shows at most the last three days, hour by hour, and at least twelve hours.
    const MAX_HOURS: i64 = 72;
    const MIN_HOURS: i64 = 12;

    pub(super) fn of(hourly: &[(i64, i64)]) -> Chart {
        let mut chart = Chart {
            width: Self::WIDTH,
            height: Self::HEIGHT,
            base: Self::HEIGHT - Self::BOTTOM,
            max: 0,
            bars: Vec::new(),
            labels: Vec::new(),
            total: hourly.iter().map(|(_, n)| n).sum(),
        };
        let (Some(first), Some(last)) = (hourly.first(), hourly.last()) else {
            return chart;
        };
        let last_hour = last.0 - last.0.rem_euclid(3600);
        // At least half a day is shown, so one busy hour is a bar and not the whole chart.
        let first_hour = (first.0 - first.0.rem_euclid(3600))
            .min(last_hour - (Self::MIN_HOURS - 1) * 3600)
            .max(last_hour - (Self::MAX_HOURS - 1) * 3600);
        let slots = ((last_hour - first_hour) / 3600 + 1).max(1);
        let mut counts = vec![0i64; slots as usize];
        for (hour, n) in hourly {
            let slot = (hour - hour.rem_euclid(3600) - first_hour) / 3600;
            if (0..slots).contains(&slot) {
                counts[slot as usize] += n;
            }
        }
        chart.max = counts.iter().copied().max().unwrap_or(0).max(1);
        let plot_width = Self::WIDTH - Self::LEFT - 8;
        let plot_height = chart.base - Self::TOP;
        let slot_width = plot_width / slots;
        let label_every = (slots / 12).max(1);
        for (i, n) in counts.iter().enumerate() {
            let i = i as i64;
            let hour = first_hour + i * 3600;
            let h = n * plot_height / chart.max;
            let x = Self::LEFT + i * slot_width;
            chart.bars.push(ChartBar {
                x: x + 1,
                y: chart.base - h,
                w: (slot_width - 2).max(1),
                h,
                title: format!("{} 起1小时：{n}人", short_time(hour)),
            });
            if i % label_every == 0 {
                let text = china_offset()
                    .timestamp_opt(hour, 0)
                    .single()
                    .map(|t| t.format("%H时").to_string())
                    .unwrap_or_default();
                chart.labels.push(ChartLabel {
                    x: x + slot_width / 2,
                    text,
                });
            }
        }
        chart
    }
}
