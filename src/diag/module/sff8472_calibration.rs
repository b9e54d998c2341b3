//! SFF-8472 diagnostics calibration (section 9.3). An internally calibrated module stores its monitors
//! and thresholds in the SFF units; an externally calibrated one stores A/D counts and the constants
//! that turn them into those units, in A2h bytes 56-91:
//!
//! - Rx power: five IEEE-754 big-endian floats, Rx_PWR(4) at 56 down to Rx_PWR(0) at 72, applied as
//!   `Rx_PWR(4)·r^4 + Rx_PWR(3)·r^3 + Rx_PWR(2)·r^2 + Rx_PWR(1)·r + Rx_PWR(0)` (in 0.1 µW). ethtool
//!   multiplies the reading by Rx_PWR(1..3) without the powers and ignores Rx_PWR(4); the two agree
//!   whenever Rx_PWR(2..4) are zero, which is how modules ship.
//! - Tx bias (76), Tx power (80), temperature (84), supply voltage (88): an unsigned 8.8 fixed-point
//!   slope and a signed 16-bit offset, `slope · reading + offset`, the result a 16-bit value in the
//!   internal unit. Like ethtool, the product is truncated to a whole count before the offset is added.
//!
//! Thresholds are calibrated the same way (they are stored in counts too).

/// The constants of an externally calibrated module.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct External {
    rx_power: [f64; 5],
    bias: (f64, f64),
    tx_power: (f64, f64),
    temperature: (f64, f64),
    voltage: (f64, f64),
}

/// How a module's readings become SFF units.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Calibration {
    Internal,
    External(Box<External>),
}

/// Which monitored quantity a reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quantity {
    Temperature,
    Voltage,
    Bias,
    TxPower,
    RxPower,
}

impl External {
    /// Reads the constants from A2h (`a2` is the A2h page, 256 bytes).
    pub(super) fn read(a2: &[u8]) -> External {
        let float = |at: usize| f32::from_be_bytes([a2[at], a2[at + 1], a2[at + 2], a2[at + 3]]);
        let pair = |at: usize| {
            let slope = a2[at] as f64 + a2[at + 1] as f64 / 256.0;
            let offset = i16::from_be_bytes([a2[at + 2], a2[at + 3]]) as f64;
            (slope, offset)
        };
        External {
            // Rx_PWR(0) first.
            rx_power: [72, 68, 64, 60, 56].map(|at| float(at) as f64),
            bias: pair(76),
            tx_power: pair(80),
            temperature: pair(84),
            voltage: pair(88),
        }
    }
}

impl Calibration {
    /// The reading `raw` (the 16-bit word as stored) in the quantity's internal unit: signed 1/256 °C
    /// for temperature, unsigned counts of 100 µV, 2 µA or 0.1 µW otherwise.
    pub(super) fn apply(&self, quantity: Quantity, raw: u16) -> f64 {
        let internal = match quantity {
            Quantity::Temperature => raw as i16 as f64,
            _ => raw as f64,
        };
        let Calibration::External(c) = self else {
            return internal;
        };
        let linear = |(slope, offset): (f64, f64)| (slope * internal).trunc() + offset;
        match quantity {
            Quantity::Temperature => linear(c.temperature).clamp(-32768.0, 32767.0),
            Quantity::Voltage => linear(c.voltage).clamp(0.0, 65535.0),
            Quantity::Bias => linear(c.bias).clamp(0.0, 65535.0),
            Quantity::TxPower => linear(c.tx_power).clamp(0.0, 65535.0),
            Quantity::RxPower => {
                let power = c
                    .rx_power
                    .iter()
                    .rev()
                    .fold(0.0, |acc, &coefficient| acc * internal + coefficient);
                power.max(0.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(constants: &[(usize, &[u8])]) -> Vec<u8> {
        let mut a2 = vec![0u8; 256];
        for (at, bytes) in constants {
            a2[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        a2
    }

    #[test]
    fn slopes_offsets_and_the_rx_polynomial_follow_section_9_3() {
        let a2 = page(&[
            (56, &0.0f32.to_be_bytes()),
            (60, &0.0f32.to_be_bytes()),
            (64, &0.0001f32.to_be_bytes()),
            (68, &2.0f32.to_be_bytes()),
            (72, &5.0f32.to_be_bytes()),
            (76, &[2, 0x80, 0xFF, 0xF6]), // bias: 2.5 x r - 10
            (80, &[1, 0, 0, 0]),          // tx power: unchanged
            (84, &[0, 0x80, 0x01, 0x00]), // temperature: 0.5 x r + 256 (+1 C)
            (88, &[1, 0, 0, 100]),        // voltage: r + 100 (+10 mV)
        ]);
        let c = Calibration::External(Box::new(External::read(&a2)));
        assert_eq!(c.apply(Quantity::Bias, 1000), 2490.0);
        assert_eq!(c.apply(Quantity::TxPower, 1234), 1234.0);
        assert_eq!(c.apply(Quantity::Temperature, 40 * 256), 21.0 * 256.0);
        assert_eq!(c.apply(Quantity::Voltage, 33000), 33100.0);
        // 0.0001 x 100^2 + 2 x 100 + 5
        assert!((c.apply(Quantity::RxPower, 100) - 206.0).abs() < 1e-3);
        // Internal calibration reads the word as it is (temperature signed).
        assert_eq!(
            Calibration::Internal.apply(Quantity::Temperature, 0xFF00),
            -256.0
        );
    }
}
