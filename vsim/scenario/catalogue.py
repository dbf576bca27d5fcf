"""Built-in reference data a scenario can name instead of spelling out: host power tables."""

from __future__ import annotations

# Power (W) at CPU utilization 0 %, 10 %, ..., 100 %, from SPECpower_ssj2008 results, as used by
# Beloglazov & Buyya (CCPE 2012, Table "Power consumption by the selected servers at different
# load levels") and by CloudSim's PowerModelSpecPowerHpProLiantMl110G4Xeon3040 / G5Xeon3075.
SPECPOWER_TABLES: dict[str, tuple[float, ...]] = {
    # HP ProLiant ML110 G4 (Intel Xeon 3040, 2 cores x 1860 MHz, 4 GB)
    "hp_ml110_g4": (86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0),
    # HP ProLiant ML110 G5 (Intel Xeon 3075, 2 cores x 2660 MHz, 4 GB)
    "hp_ml110_g5": (93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0),
}
