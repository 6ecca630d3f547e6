//! Step and simple scaling arithmetic, as "Step and simple scaling policies for Amazon EC2
//! Auto Scaling" and Application Auto Scaling's "Step scaling policies" describe it: which
//! step a breach falls in, the adjustment types, AWS's rounding of percentages and
//! MinAdjustmentMagnitude, and clamping to the group's bounds.

use crate::scaling::scenario::{AdjustmentType, StepAdjustment};

/// The step for a breach of size `delta` = aggregated value − threshold. Bounds are relative
/// to the threshold; a missing bound is infinite. Which bound is inclusive depends on the
/// side of the threshold the aggregated value lies on, not on the alarm's direction
/// (application-auto-scaling-step-scaling-policies, as-scaling-simple-step): above it a
/// step's lower bound is inclusive and its upper exclusive, below it the lower is exclusive
/// and the upper inclusive. At the threshold itself the alarm's direction decides
/// (`upper_alarm`: as above), as the guides' worked example shows (60 on the upper alarm at
/// 60 takes [0, 10); 40 on the lower alarm at 40 takes (−10, 0]).
pub(crate) fn select_step(steps: &[StepAdjustment], delta: f64, upper_alarm: bool) -> Option<usize> {
    let above = delta > 0.0 || (delta == 0.0 && upper_alarm);
    steps.iter().position(|step| {
        let lower = step.lower_bound.unwrap_or(f64::NEG_INFINITY);
        let upper = step.upper_bound.unwrap_or(f64::INFINITY);
        if above {
            lower <= delta && delta < upper
        } else {
            lower < delta && delta <= upper
        }
    })
}

/// PercentChangeInCapacity: C × a / 100, then "values greater than 1 are rounded down,
/// values between 0 and 1 are rounded to 1, values between 0 and −1 are rounded to −1, and
/// values less than −1 are rounded up" (toward zero); then MinAdjustmentMagnitude raises a
/// smaller magnitude to it.
pub(crate) fn percent_change(capacity: u32, percent: i64, min_adjustment_magnitude: Option<u32>) -> i64 {
    let raw = f64::from(capacity) * percent as f64 / 100.0;
    let rounded = if raw > 1.0 {
        raw.floor()
    } else if raw > 0.0 {
        1.0
    } else if raw == 0.0 {
        0.0
    } else if raw > -1.0 {
        -1.0
    } else {
        raw.ceil()
    } as i64;
    match min_adjustment_magnitude {
        Some(min) if rounded != 0 && rounded.unsigned_abs() < u64::from(min) => rounded.signum() * i64::from(min),
        _ => rounded,
    }
}

/// The capacity a policy asks for from `capacity` (before clamping).
pub(crate) fn target_capacity(
    capacity: u32,
    adjustment_type: AdjustmentType,
    adjustment: i64,
    min_adjustment_magnitude: Option<u32>,
) -> i64 {
    match adjustment_type {
        AdjustmentType::ChangeInCapacity => i64::from(capacity) + adjustment,
        AdjustmentType::ExactCapacity => adjustment,
        AdjustmentType::PercentChangeInCapacity => {
            i64::from(capacity) + percent_change(capacity, adjustment, min_adjustment_magnitude)
        }
    }
}

/// Clamp to [min, max].
pub(crate) fn clamp(target: i64, min: u32, max: u32) -> u32 {
    target.clamp(i64::from(min), i64::from(max)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(lower: Option<f64>, upper: Option<f64>, adjustment: i64) -> StepAdjustment {
        StepAdjustment {
            lower_bound: lower,
            upper_bound: upper,
            scaling_adjustment: adjustment,
        }
    }

    /// The worked example of both guides (as-scaling-simple-step and
    /// application-auto-scaling-step-scaling-policies): an upper alarm at 60 with +10 % for
    /// [0, 10) and +30 % for [10, ∞); a lower alarm at 40 with −10 % for (−10, 0] and −30 %
    /// for (−∞, −10]. From 10: metric 60 -> 11, 70 -> 14, 40 -> 13, 30 -> 10.
    #[test]
    fn as_scaling_simple_step_worked_example_10_11_14_13_10() {
        let upper = [step(Some(0.0), Some(10.0), 10), step(Some(10.0), None, 30)];
        let lower = [step(Some(-10.0), Some(0.0), -10), step(None, Some(-10.0), -30)];
        let percent = AdjustmentType::PercentChangeInCapacity;
        let mut capacity = 10;
        for (metric, expected) in [(60.0, 11), (70.0, 14), (40.0, 13), (30.0, 10)] {
            let (steps, threshold, upward) = if metric >= 60.0 {
                (&upper[..], 60.0, true)
            } else {
                (&lower[..], 40.0, false)
            };
            let index = select_step(steps, metric - threshold, upward).expect("a step");
            let target = target_capacity(capacity, percent, steps[index].scaling_adjustment, None);
            capacity = clamp(target, 1, 100);
            assert_eq!(capacity, expected, "metric {metric}");
        }
    }

    /// Bounds: above the threshold lower inclusive / upper exclusive; below it lower
    /// exclusive / upper inclusive; so d = 0 goes to [0, 10) upward and (−10, 0] downward.
    #[test]
    fn which_bound_is_inclusive_depends_on_the_side() {
        let upper = [step(Some(0.0), Some(10.0), 1), step(Some(10.0), None, 3)];
        assert_eq!(select_step(&upper, 0.0, true), Some(0));
        assert_eq!(select_step(&upper, 9.999, true), Some(0));
        assert_eq!(select_step(&upper, 10.0, true), Some(1));
        assert_eq!(select_step(&upper, -0.5, true), None);
        let lower = [step(Some(-10.0), Some(0.0), -1), step(None, Some(-10.0), -3)];
        assert_eq!(select_step(&lower, 0.0, false), Some(0));
        assert_eq!(select_step(&lower, -10.0, false), Some(1));
        assert_eq!(select_step(&lower, -9.0, false), Some(0));
    }

    /// application-auto-scaling-step-scaling-policies: "If the metric value is above the
    /// breach threshold, the lower bound is inclusive and the upper bound is exclusive. If the
    /// metric value is below the breach threshold, the lower bound is exclusive and the upper
    /// bound is inclusive." An M-of-N scale-out alarm can be in ALARM with its aggregate
    /// below its threshold: there the side, not the alarm, picks the inclusive bound.
    #[test]
    fn application_auto_scaling_step_scaling_policies_bounds_follow_the_aggregate_side() {
        // A scale-out alarm's steps reaching below its threshold: (-5, 0] and [0, +inf).
        let out = [step(Some(-5.0), Some(0.0), 1), step(Some(0.0), None, 2)];
        // Below the threshold: -5 is excluded, -1 is in the first step.
        assert_eq!(select_step(&out, -5.0, true), None);
        assert_eq!(select_step(&out, -1.0, true), Some(0));
        // A scale-in alarm whose aggregate is above its threshold: [0, 5) above it.
        let scale_in = [step(None, Some(0.0), -1), step(Some(0.0), Some(5.0), -2)];
        assert_eq!(select_step(&scale_in, 5.0, false), None);
        assert_eq!(select_step(&scale_in, 4.0, false), Some(1));
        // At the threshold the alarm's own direction decides.
        assert_eq!(select_step(&out, 0.0, true), Some(1));
        assert_eq!(select_step(&scale_in, 0.0, false), Some(0));
    }

    /// as-scaling-simple-step, "Scaling adjustment types": the rounding rules and
    /// MinAdjustmentMagnitude (the guide's example: PercentChangeInCapacity 10 and
    /// MinAdjustmentMagnitude 2 on a group of 4: 10 % of 4 is 0.4, so 2 instances are added).
    #[test]
    fn percent_change_rounding_and_min_adjustment_magnitude() {
        assert_eq!(percent_change(10, 33, None), 3); // 3.3 -> 3
        assert_eq!(percent_change(2, 30, None), 1); // 0.6 -> 1
        assert_eq!(percent_change(2, -30, None), -1); // -0.6 -> -1
        assert_eq!(percent_change(13, -30, None), -3); // -3.9 -> -3
        assert_eq!(percent_change(14, -10, None), -1); // -1.4 -> -1
        assert_eq!(percent_change(4, 10, None), 1); // 0.4 -> 1
        assert_eq!(percent_change(4, 10, Some(2)), 2);
        assert_eq!(percent_change(4, -25, Some(2)), -2);
        assert_eq!(percent_change(100, 25, Some(2)), 25);
    }

    #[test]
    fn adjustment_types_and_clamping() {
        assert_eq!(target_capacity(5, AdjustmentType::ChangeInCapacity, 2, None), 7);
        assert_eq!(target_capacity(5, AdjustmentType::ChangeInCapacity, -9, None), -4);
        assert_eq!(target_capacity(5, AdjustmentType::ExactCapacity, 3, None), 3);
        assert_eq!(clamp(-4, 1, 6), 1);
        assert_eq!(clamp(9, 1, 6), 6);
    }
}
