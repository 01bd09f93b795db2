"""The photonic MAC core: link budget (laser power, SNR) and weight-bank crosstalk."""

from bplight.photonics.bank import bank_coupling, bank_crosstalk, crosstalk_db_neighbour
from bplight.photonics.link_budget import (
    LinkBudget,
    LinkBudgetError,
    check_link_budget,
    link_budget,
    pass_noise_sigma,
    path_loss_db,
    split_db,
)

__all__ = [
    "LinkBudget", "LinkBudgetError", "bank_coupling", "bank_crosstalk", "check_link_budget",
    "crosstalk_db_neighbour", "link_budget", "pass_noise_sigma", "path_loss_db", "split_db",
]
