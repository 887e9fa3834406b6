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

    /// The swabs per hour of a round open from `opened` until `until` (its closing, or now): every
    /// hour of that span has its bar, empty ones too, so a pause shows as a gap and the chart ends
    /// at the hour it is read.
    pub(super) fn of(hourly: &[(i64, i64)], opened: i64, until: i64) -> Chart {
        let mut chart = Chart {
            width: Self::WIDTH,
            height: Self::HEIGHT,
            base: Self::HEIGHT - Self::BOTTOM,
            max: 0,
            bars: Vec::new(),
            labels: Vec::new(),
            total: hourly.iter().map(|(_, n)| n).sum(),
        };
        if hourly.is_empty() {
            return chart;
        }
        let hour_of = |t: i64| t - t.rem_euclid(3600);
        let last_data = hourly.iter().map(|(h, _)| *h).max().unwrap_or(until);
        let last_hour = hour_of(until.max(opened)).max(hour_of(last_data));
        // At least half a day is shown, so one busy hour is a bar and not the whole chart.
        let first_hour = hour_of(opened)
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

#[cfg(test)]
mod chart_tests {
    use super::Chart;

    #[test]
    fn the_chart_runs_from_the_opening_to_now_with_empty_hours_as_gaps() {
        let opened = 1_700_000_000 - 1_700_000_000 % 3600 + 1200; // 20 minutes into an hour
        let swabs = [(opened + 3600, 40), (opened + 2 * 3600, 25)];
        let now = opened + 20 * 3600;
        let chart = Chart::of(&swabs, opened, now);
        // Every hour from the opening's to the current one: 21 bars, the last ones empty.
        assert_eq!(chart.bars.len(), 21);
        assert_eq!(chart.total, 65);
        assert!(chart.bars[0].h == 0 && chart.bars[1].h > 0 && chart.bars[2].h > 0);
        assert!(
            chart.bars[3..].iter().all(|b| b.h == 0),
            "hours with no swabs are gaps"
        );
        // A short round still shows half a day: the hours before its opening are empty.
        let closed = Chart::of(&swabs, opened, opened + 3 * 3600);
        assert_eq!(closed.bars.len(), 12, "at least half a day");
        assert!(closed.bars[..9].iter().all(|b| b.h == 0));
        assert!(closed.bars[9].h > 0 && closed.bars[10].h > 0);
    }
}
