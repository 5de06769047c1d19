//! The demo project's sounds, synthesised the way 8-bit consoles made them: square
//! and triangle oscillators with simple envelopes.

use crate::media::{self, SampleEncoding, Sound};

const RATE: u32 = 22_050;

/// Equal-tempered note frequencies in Hz, written out so no platform `powf` is needed.
mod note {
    pub const C3: f64 = 130.813;
    pub const F3: f64 = 174.614;
    pub const G3: f64 = 195.998;
    pub const A3: f64 = 220.000;
    pub const C5: f64 = 523.251;
    pub const D5: f64 = 587.330;
    pub const E5: f64 = 659.255;
    pub const F5: f64 = 698.456;
    pub const G5: f64 = 783.991;
    pub const A5: f64 = 880.000;
    pub const B5: f64 = 987.767;
    pub const C6: f64 = 1046.502;
    pub const E6: f64 = 1318.510;
}

/// A jump: a square wave sliding up an octave and a half, fading out. 16-bit mono.
pub fn jump() -> Sound {
    let frames = seconds(0.22);
    let mut phase = 0.0;
    let samples = (0..frames)
        .map(|i| {
            let t = i as f64 / frames as f64;
            // The slide slows as it rises, like a pitch envelope on a console.
            let freq = 220.0 + 700.0 * t * (2.0 - t);
            phase += freq / f64::from(RATE);
            media::square(phase) * 0.45 * fade(i, frames)
        })
        .collect();
    Sound {
        sample_rate: RATE,
        channels: 1,
        encoding: SampleEncoding::Int16,
        samples,
    }
}

/// A coin pickup: B5 then a held E6, the classic two-note chime. 8-bit mono.
pub fn coin() -> Sound {
    let frames = seconds(0.4);
    let switch = seconds(0.07);
    let mut phase = 0.0;
    let samples = (0..frames)
        .map(|i| {
            let freq = if i < switch { note::B5 } else { note::E6 };
            phase += freq / f64::from(RATE);
            let t = i as f64 / frames as f64;
            media::square(phase) * 0.4 * (1.0 - t) * attack(i)
        })
        .collect();
    Sound {
        sample_rate: RATE,
        channels: 1,
        encoding: SampleEncoding::Int8,
        samples,
    }
}

/// The title theme: one bar of a square-wave melody over a triangle bass, 16-bit
/// stereo, the melody leaning left and the bass right.
pub fn theme() -> Sound {
    use note::*;
    // Eighth notes at 120 bpm: a quarter second each, eight of them.
    const MELODY: [f64; 8] = [C5, E5, G5, E5, F5, A5, G5, C6];
    const BASS: [f64; 8] = [C3, C3, C3, C3, F3, F3, G3, A3];
    let step = seconds(0.125);
    let frames = step * MELODY.len();
    let (mut lead, mut bass, mut echo) = (0.0, 0.0, 0.0);
    let mut samples = Vec::with_capacity(frames * 2);
    for i in 0..frames {
        let n = i / step;
        let within = i % step;
        lead += MELODY[n] / f64::from(RATE);
        bass += BASS[n] / f64::from(RATE);
        // A quiet echo of the melody, one note behind, gives the bar some depth.
        let previous = if n == 0 { D5 } else { MELODY[n - 1] };
        echo += previous / f64::from(RATE);
        let note_env = fade(within, step) * attack(within);
        let lead_sample = media::square(lead) * 0.22 * note_env;
        let echo_sample = media::square(echo) * 0.06 * note_env;
        let bass_sample = media::triangle(bass) * 0.35 * attack(within);
        let end = fade(i, frames).min(1.0);
        let left = (lead_sample * 0.8 + echo_sample * 0.4 + bass_sample * 0.4) * end;
        let right = (lead_sample * 0.4 + echo_sample * 0.8 + bass_sample * 0.8) * end;
        samples.push(left);
        samples.push(right);
    }
    Sound {
        sample_rate: RATE,
        channels: 2,
        encoding: SampleEncoding::Int16,
        samples,
    }
}

fn seconds(s: f64) -> usize {
    (f64::from(RATE) * s).round() as usize
}

/// A short ramp in, so notes start without a click.
fn attack(i: usize) -> f64 {
    (i as f64 / 64.0).min(1.0)
}

/// Full volume for the first half, then a linear fade to silence.
fn fade(i: usize, frames: usize) -> f64 {
    let t = i as f64 / frames as f64;
    if t < 0.5 { 1.0 } else { 2.0 * (1.0 - t) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sounds_stay_in_range_and_end_quietly() {
        for sound in [jump(), coin(), theme()] {
            assert!(sound.samples.iter().all(|s| s.abs() <= 1.0));
            let tail = &sound.samples[sound.samples.len() - 4..];
            assert!(tail.iter().all(|s| s.abs() < 0.01), "{tail:?}");
        }
    }
}
