"""The market's agents: chip suppliers, hyperscalers, neoclouds and labs."""

from agents.base import Firm
from agents.chip_supplier import ChipSupplier
from agents.hyperscaler import Hyperscaler
from agents.lab import Lab
from agents.neocloud import Neocloud

FIRM_TYPES = {"hyperscaler": Hyperscaler, "neocloud": Neocloud, "lab": Lab}

__all__ = ["FIRM_TYPES", "ChipSupplier", "Firm", "Hyperscaler", "Lab", "Neocloud"]
