"""Named experiments: published studies as one call (and one ``vsim experiment`` command).

- :func:`beloglazov2012`: dynamic VM consolidation on a PlanetLab day (Beloglazov & Buyya,
  CCPE 24(13), 2012), every policy of the paper, against CloudSim 4.0's figures.
"""

from vsim.experiments.beloglazov import beloglazov2012

#: Every named experiment, by the name ``vsim experiment`` takes, and what each reproduces.
EXPERIMENTS = {"beloglazov2012": beloglazov2012}
TITLES = {
    "beloglazov2012": "dynamic VM consolidation on a PlanetLab day, every policy of "
    "Beloglazov & Buyya (CCPE 2012), beside CloudSim 4.0's figures",
}

__all__ = ["EXPERIMENTS", "TITLES", "beloglazov2012"]
