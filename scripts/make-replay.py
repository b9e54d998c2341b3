#!/usr/bin/env python3
"""Builds a replayed link for `linkbench-client --soak ... --replay-link DIR`: a module heating up under
traffic, one step every 10 s, as fixture trees the sampler reads through the same readers and decoders as a
live link.

Usage: scripts/make-replay.py OUTDIR [--steps N]

Base: the real CMIS page dump of a CIG TRD5H20ENF-LF 400G QSFP-DD LR4
(tests/fixtures/eeprom/real/cmis-cig-trd5h20enf-lf-400g-lr4.bin, provenance in its .toml: Jared Mauch's
sfppi data_samples, a Junos page dump). Every step is that dump with only these monitor bytes rewritten,
at the offsets CMIS 5.x gives them (linkbench's layout: lower page 0-127, page 11h at 640-767):
- module temperature, lower page bytes 14-15 (signed, 1/256 C): from the dump's 47.72 C towards 68 C,
  T(k) = 47.72 + 20.3 * (1 - exp(-k / 8));
- Rx power per lane, page 11h bytes 186-193 (unsigned, 0.1 uW): lanes 1, 2 and 4 keep the dump's values;
  lane 3 sags 0.15 dB for every degree above 47.72 C (-3.0 dB at 68 C);
- page 01h byte 142 bit 6 set: the module advertises CMIS VDM (the real module does not; this bit and
  the VDM pages below are specification-built);
- nothing else: identity, thresholds and flags stay the dump's bytes.
VDM pages 20h-2Fh (`module_vdm.bin`, 16 pages of 128 bytes, CMIS 5.x layout: page 2Fh byte 128 = 0, one
group; descriptors on page 20h, samples on 24h, F16 and U16 as CMIS defines them): for each of the 4 media
lanes, pre-FEC BER current value media input (type 15) = the step's FEC BER, lane 3 times 10^(sag / 2 dB)
(a lane that lost light has more errors); eSNR media input (type 5, 1/256 dB) = 22 dB - 0.05 dB per degree
of heating, lane 3 also losing its Rx sag; for each of the 8 host lanes, pre-FEC BER current value host
input (type 16) = 1e-9, flat (the host side does not heat).
FEC statistics (`fec_stats.json`, the keys linkbench's netlink reader returns; RS(544,514) on a 400 Gbit/s
port): corrected bits at a pre-FEC BER of 2e-8 doubling for every 10 C of heating; corrected blocks one per
4 corrected bits; uncorrectable blocks stay 0; per-lane counters (`_lane0`..`_lane7`) split the totals
evenly; histogram bins `hist_0_0`..`hist_15_15` (symbol errors per codeword, as mlx5 reports 16 single-value
bins; bin 0 counts every codeword of the step) whose highest counting bin creeps from 3 to 8 as the
module heats. netdev statistics move at 380
Gbit/s each way; the carrier never changes. Each step's `elapsed_s` is its recorded time (10 s a step).
These sequences are specification-built, not recorded from a running module: reports made from them say so
(`replayed_from` in every sample, `replayed` in the soak summary).
"""

import argparse
import json
import math
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE = ROOT / "tests/fixtures/eeprom/real/cmis-cig-trd5h20enf-lf-400g-lr4.bin"
INTERFACE = "eth0"
STEP_S = 10.0
SPEED_MBPS = 400_000
TEMPERATURE_AT = 14  # lower page
RX_POWER_AT = 640 + 186 - 128  # page 11h byte 186, lane 1 (linkbench's dump layout puts 11h at 512)
LANES = 4
SAG_DB_PER_C = 0.15
VDM_SUPPORT_AT = 256 + 142 - 128  # page 01h byte 142


def ber_at(k):
    return 2e-8 * 2 ** ((temperature(k) - temperature(0)) / 10.0)


def to_f16(value):
    """CMIS F16: mantissa (11 bits) * 10^(exponent (5 bits) - 24), the most digits that fit."""
    for exponent in range(32):
        mantissa = round(value / 10 ** (exponent - 24))
        if mantissa < 2048:
            return (exponent << 11) | mantissa
    return 0x7FFF


def vdm_step(k):
    pages = bytearray(16 * 128)
    heat = temperature(k) - temperature(0)
    sag_db = SAG_DB_PER_C * heat
    entries = []
    for lane in range(1, LANES + 1):
        worse = 10 ** (sag_db / 2.0) if lane == 3 else 1.0
        entries.append((lane, 15, to_f16(ber_at(k) * worse)))
        snr = 22.0 - 0.05 * heat - (sag_db if lane == 3 else 0.0)
        entries.append((lane, 5, round(snr * 256)))
    entries += [(lane, 16, to_f16(1e-9)) for lane in range(1, 9)]
    for index, (lane, kind, raw) in enumerate(entries):
        pages[2 * index] = lane - 1
        pages[2 * index + 1] = kind
        pages[4 * 128 + 2 * index:4 * 128 + 2 * index + 2] = struct.pack(">H", raw)
    return bytes(pages)


def temperature(k):
    return 47.72 + 20.3 * (1.0 - math.exp(-k / 8.0))


def module_step(base, k):
    dump = bytearray(base)
    t0 = struct.unpack(">h", base[TEMPERATURE_AT:TEMPERATURE_AT + 2])[0] / 256.0
    t = temperature(k)
    dump[TEMPERATURE_AT:TEMPERATURE_AT + 2] = struct.pack(">h", round(t * 256))
    at = RX_POWER_AT + 2 * 2  # lane 3
    raw = struct.unpack(">H", base[at:at + 2])[0]
    sagged = raw * 10 ** (-SAG_DB_PER_C * (t - t0) / 10.0)
    dump[at:at + 2] = struct.pack(">H", max(0, min(0xFFFF, round(sagged))))
    dump[VDM_SUPPORT_AT] |= 0x40
    return bytes(dump)


def fec_step(k, totals):
    if k > 0:
        heat = temperature(k) - temperature(0)
        ber = ber_at(k)
        bits = round(ber * SPEED_MBPS * 1e6 * STEP_S)
        totals["corrected_bits"] += bits
        totals["corrected_blocks"] += bits // 4
        top = min(8, 3 + int(heat / 4))
        codewords = round(SPEED_MBPS * 1e6 * STEP_S / (544 * 10))
        totals["hist_0_0"] += codewords
        for b in range(1, top + 1):
            totals[f"hist_{b}_{b}"] += max(1, round(bits / 4 * 0.5 ** (b - 1)))
    out = {"uncorrectable_blocks": 0, "uncorrectable_blocks_lane0": 0}
    for name in ("corrected_bits", "corrected_blocks"):
        out[name] = totals[name]
        for lane in range(8):
            out[f"{name}_lane{lane}"] = totals[name] // 8
    for b in range(16):
        out[f"hist_{b}_{b}"] = totals[f"hist_{b}_{b}"]
    return out


def write_step(out, k, base, totals):
    net = out / f"{k:04d}" / "sys/class/net" / INTERFACE
    (net / "statistics").mkdir(parents=True)
    (out / f"{k:04d}" / "elapsed_s").write_text(f"{k * STEP_S}\n")
    (net / "module_eeprom.bin").write_bytes(module_step(base, k))
    (net / "module_vdm.bin").write_bytes(vdm_step(k))
    (net / "fec_stats.json").write_text(json.dumps(fec_step(k, totals), sort_keys=True) + "\n")
    moved = round(380e9 / 8 * STEP_S * k)
    for name, value in (("rx_bytes", moved), ("tx_bytes", moved), ("rx_packets", moved // 4096),
                        ("tx_packets", moved // 4096), ("rx_errors", 0), ("tx_errors", 0),
                        ("rx_dropped", 0), ("tx_dropped", 0)):
        (net / "statistics" / name).write_text(f"{value}\n")
    for name, value in (("carrier_changes", 2), ("carrier_up_count", 1), ("carrier_down_count", 1),
                        ("speed", SPEED_MBPS), ("mtu", 9000)):
        (net / name).write_text(f"{value}\n")
    (net / "operstate").write_text("up\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--steps", type=int, default=31)
    args = ap.parse_args()
    if args.out.exists():
        raise SystemExit(f"make-replay.py: {args.out} exists; give a new directory")
    base = BASE.read_bytes()
    totals = {"corrected_bits": 0, "corrected_blocks": 0, **{f"hist_{b}_{b}": 0 for b in range(16)}}
    for k in range(args.steps):
        write_step(args.out, k, base, totals)
    (args.out / "README.md").write_text(
        "Specification-built replay made by scripts/make-replay.py (see its docstring for every field):\n"
        f"{args.steps} steps of {STEP_S:.0f} s, a CIG TRD5H20ENF-LF 400G LR4 heating from 47.72 C to "
        f"{temperature(args.steps - 1):.2f} C, lane 3's Rx power sagging 0.15 dB/C, FEC bins creeping,\n"
        "CMIS VDM pages (pre-FEC BER and eSNR per lane) built from the same model; the real module does not\n"
        "advertise VDM (page 01h byte 142 bit 6 is 0 in its dump): that bit is set here, specification-built.\n")
    print(f"make-replay.py: {args.steps} steps in {args.out}")


if __name__ == "__main__":
    main()
