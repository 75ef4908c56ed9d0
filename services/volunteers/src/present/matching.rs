//! The explanation of a match score in English and Chinese, from the numbers in
//! [`Explanation`]: the volunteer and the citizen are entitled to know why an automated
//! decision came out as it did. Shown by GraphQL `matchCandidates` and gRPC
//! `MatchCandidates` alike.

use crate::domain::matching::Explanation;

/// The explanation in English, for the volunteer, the citizen and staff.
pub fn english(e: &Explanation) -> String {
    let minutes = if e.walking_minutes < 0.5 {
        "less than a minute".to_owned()
    } else {
        format!("about {:.0} min", e.walking_minutes)
    };
    let open = match e.open_assignments {
        0 => "no open assignments".to_owned(),
        1 => "1 open assignment".to_owned(),
        n => format!("{n} open assignments"),
    };
    let rating = match e.rating_average {
        None => format!("no ratings yet, counted as {:.2}", e.adjusted_rating),
        Some(avg) => format!(
            "{avg:.2} average from {} rating{}, adjusted to {:.2} for the number of ratings",
            e.rating_count,
            if e.rating_count == 1 { "" } else { "s" },
            e.adjusted_rating
        ),
    };
    format!(
        "Score {:.1}/100. Walk: {minutes} ({}) → {:.1} of {:.0} points (nearer is better; half marks at {:.0} min). \
         Load: {open} → {:.1} of {:.0} points (fewer is better). \
         Rating: {rating} → {:.1} of {:.0} points. \
         Eligible because active, has every required skill and is available for the whole time.",
        e.total_points,
        format_distance_en(e.distance_m),
        e.distance_points,
        e.distance_max_points,
        e.half_score_minutes,
        e.load_points,
        e.load_max_points,
        e.rating_points,
        e.rating_max_points,
    )
}

/// The explanation in Chinese.
pub fn chinese(e: &Explanation) -> String {
    let minutes = if e.walking_minutes < 0.5 {
        "不到 1 分钟".to_owned()
    } else {
        format!("约 {:.0} 分钟", e.walking_minutes)
    };
    let rating = match e.rating_average {
        None => format!("暂无评价，按 {:.2} 分计", e.adjusted_rating),
        Some(avg) => format!(
            "平均 {avg:.2} 分（共 {} 次），按评价次数修正为 {:.2} 分",
            e.rating_count, e.adjusted_rating
        ),
    };
    format!(
        "综合得分 {:.1}（满分 100）。步行：{minutes}（{}），得 {:.1} 分（满分 {:.0}，越近越高，{:.0} 分钟得一半）。\
         当前任务：{} 项未完成，得 {:.1} 分（满分 {:.0}，越少越高）。\
         评价：{rating}，得 {:.1} 分（满分 {:.0}）。\
         入选原因：状态正常、具备全部所需技能、该时段有空。",
        e.total_points,
        format_distance_zh(e.distance_m),
        e.distance_points,
        e.distance_max_points,
        e.half_score_minutes,
        e.open_assignments,
        e.load_points,
        e.load_max_points,
        e.rating_points,
        e.rating_max_points,
    )
}

fn format_distance_en(m: f64) -> String {
    if m < 1000.0 {
        format!("{:.0} m", m)
    } else {
        format!("{:.1} km", m / 1000.0)
    }
}

fn format_distance_zh(m: f64) -> String {
    if m < 1000.0 {
        format!("{:.0} 米", m)
    } else {
        format!("{:.1} 公里", m / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::matching::tests::{at, candidate, monday_morning, north, rating};
    use crate::domain::matching::{CandidateIndex, MatchWeights, RatingSummary, match_candidates};
    use crate::domain::skills::SkillSet;
    use tongxin_platform::geo::WalkingModel;

    /// The explanation of the one volunteer `metres` north of the order.
    fn explain(metres: f64, open: u16, summary: RatingSummary) -> Explanation {
        let order = at(29.405, 105.594);
        let index =
            CandidateIndex::from_candidates([candidate(1, north(order, metres), open, summary)]);
        let found = match_candidates(
            &index,
            order,
            SkillSet::empty(),
            &monday_morning(),
            1,
            &WalkingModel::default(),
            &MatchWeights::default(),
        );
        found[0].explanation.clone()
    }

    #[test]
    fn explanation_reads_in_both_languages() {
        let e = &explain(500.0, 1, rating(4.8, 20));
        assert_eq!(
            english(e),
            "Score 67.5/100. Walk: about 8 min (500 m) → 38.9 of 60 points (nearer is better; half marks at 15 min). \
             Load: 1 open assignment → 10.0 of 20 points (fewer is better). \
             Rating: 4.80 average from 20 ratings, adjusted to 4.64 for the number of ratings → 18.6 of 20 points. \
             Eligible because active, has every required skill and is available for the whole time."
        );
        assert_eq!(
            chinese(e),
            "综合得分 67.5（满分 100）。步行：约 8 分钟（500 米），得 38.9 分（满分 60，越近越高，15 分钟得一半）。\
             当前任务：1 项未完成，得 10.0 分（满分 20，越少越高）。\
             评价：平均 4.80 分（共 20 次），按评价次数修正为 4.64 分，得 18.6 分（满分 20）。\
             入选原因：状态正常、具备全部所需技能、该时段有空。"
        );
        // 10 m is about 0.16 walking minutes.
        let unrated = &explain(10.0, 0, RatingSummary::none());
        assert!(english(unrated).contains("less than a minute"));
        assert!(english(unrated).contains("no ratings yet, counted as 4.00"));
        assert!(english(unrated).contains("no open assignments"));
        assert!(chinese(unrated).contains("暂无评价，按 4.00 分计"));
    }
}
