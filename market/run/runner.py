"""The one way to run a model: used by the CLI, the experiments, the UI and the tests.

``run()`` builds a ComputeMarket from a scenario, seed and overrides, steps it month
by month (with an optional progress bar), and returns the tables; with ``out`` it
writes them to a folder atomically: the folder appears complete or not at all.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from market.core.model import ComputeMarket, month_label
from market.io.atomic import replaced_folder
from market.io.outputs import OUTPUTS, RAISE_COLUMNS
from market.io.params import PARAMS
from market.io.records import Origin

FLOAT_FORMAT = "%.10g"

# Draws a run's figures into a folder; the view supplies it (the runner draws nothing)
FigureWriter = Callable[["RunResult", Path], None]


class OutputError(ValueError):
    """An output folder that cannot be used; the message says why."""


@dataclass
class RunResult:
    model: ComputeMarket
    timeseries: pd.DataFrame
    contracts: pd.DataFrame
    events: pd.DataFrame
    labs: pd.DataFrame
    providers: pd.DataFrame
    suppliers: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any]
    out: Path | None = None
    files: list[str] = field(default_factory=list)
    raises: pd.DataFrame | None = None


def package_version() -> str:
    try:
        return metadata.version("compute-market")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_model(
    scenario="baseline",
    seed: int | None = None,
    years: float | None = None,
    overrides: dict[str, Any] | None = None,
    interventions: Sequence[dict[str, Any] | str] = (),
) -> ComputeMarket:
    params = dict(overrides or {})
    if years is not None:
        params["years"] = years
    return ComputeMarket(scenario=scenario, rng=seed, interventions=interventions, **params)


RUNS_DIR = Path("runs")  # where a run without --out writes, below the working folder


def default_out_dir(scenario_name: str, seed: int) -> Path:
    """``runs/<name>-seed<seed>``, the name made a safe file name so that the folder
    is always inside ``runs/``."""
    from market.io.scenario import safe_name

    out = RUNS_DIR / f"{safe_name(scenario_name)}-seed{seed}"
    if not out.resolve().is_relative_to(RUNS_DIR.resolve()) or out.parent != RUNS_DIR:
        raise OutputError(f"scenario name {scenario_name!r} cannot name an output folder")
    return out


def check_out_dir(out: str | Path, overwrite: bool, create_parent: bool = False) -> Path:
    """Refuse a folder that exists and is not empty (unless ``overwrite``), or whose
    parent cannot be written, before any work is done. With ``create_parent`` the
    parent folder (e.g. ``runs/``) is created now, so a run never fails at its end
    for want of it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output folder '{out}' exists and is a file")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            f"output folder '{out}' exists and is not empty; choose another "
            "--out or pass --overwrite to replace it"
        )
    parent = out.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"output folder '{out}' cannot be created: '{probe}' is a file")
    if not os.access(probe, os.W_OK):
        raise OutputError(f"output folder '{out}' cannot be created: '{probe}' is not writable")
    if create_parent:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"output folder '{out}' cannot be created: {exc.strerror}") from None
    return out


def run(
    scenario="baseline",
    seed: int | None = None,
    years: float | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
    figures: FigureWriter | None = None,
    interventions: Sequence[dict[str, Any] | str] = (),
) -> RunResult:
    """Run a scenario for its horizon (or ``years``) and return its tables; with ``out``,
    also write them to that folder, and with ``figures`` (a writer from the view, e.g.
    ``market.view.figures.write_run_figures``) draw the run's figures into it.
    ``interventions`` are added to the scenario's (see ``ComputeMarket``)."""
    if out is not None:
        check_out_dir(out, overwrite)
    model = build_model(scenario, seed, years, overrides, interventions)
    months = model.horizon_months
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=months, unit="month", desc=f"{model.spec.name} seed {model.seed}", leave=False
        )
    model.run_months(months, progress=(lambda m: bar.update(1)) if bar else None)
    if bar is not None:
        bar.close()
    result = collect(model)
    if out is not None:
        result.out = Path(out)
        result.files = write(result, Path(out), overwrite, figures)
    return result


def run_task(task: dict) -> tuple[pd.DataFrame, dict]:
    """Run function for the sweep runner: a task dict in, (per-month rows, summary) out.
    The summary leaves out the scenario and seed, which the task itself records. Only
    these two are built (not the contract book, events or per-agent tables): they are
    the same as ``run(...).timeseries`` and ``run(...).summary``."""
    model = build_model(
        task.get("scenario", "baseline"),
        task.get("seed"),
        task.get("years"),
        task.get("overrides") or {},
    )
    model.run_months(model.horizon_months)
    ts = timeseries_table(model)
    summary = summarise(model, ts, contracts_signed(model))
    return ts, {k: v for k, v in summary.items() if k not in ("scenario", "seed")}


def timeseries_table(model: ComputeMarket) -> pd.DataFrame:
    """One row per month: the month's label, then every declared output in order."""
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    ts.insert(0, "month", [month_label(model.p["start_month"], i) for i in range(len(ts))])
    return ts[["month", *[o.name for o in OUTPUTS]]]


def contracts_signed(model: ComputeMarket) -> int:
    """Contracts signed during the run: every contract but the opening book's."""
    opening = str(Origin.OPENING_BOOK)
    return sum(1 for c in model.book.all if str(c.origin) != opening)


def collect(model: ComputeMarket) -> RunResult:
    ts = timeseries_table(model)
    contracts = contract_book(model)
    events = pd.DataFrame(
        [
            {"month": e.month, "kind": e.kind, "text": e.text, "actors": "; ".join(e.actors)}
            for e in model.events
        ],
        columns=["month", "kind", "text", "actors"],
    )
    from agents import ChipSupplier, Lab

    labs = _per_agent(model, Lab)
    suppliers = _per_agent(model, ChipSupplier)
    providers = provider_table(model)
    summary = summarise(model, ts, contracts_signed(model))
    manifest = {
        "package": "compute-market",
        "version": package_version(),
        "scenario": model.spec.name,
        "scenario_source": model.spec.source,
        "seed": model.seed,
        "months": len(ts),
        "parameters": {k: model.p[k] for k in PARAMS},
        "scenario_tables": model.spec.tables,
    }
    return RunResult(
        model,
        ts,
        contracts,
        events,
        labs,
        providers,
        suppliers,
        summary,
        manifest,
        raises=raise_log(model),
    )


def _per_agent(model: ComputeMarket, cls) -> pd.DataFrame:
    df = model.datacollector.get_agenttype_vars_dataframe(cls).reset_index()
    df = df.rename(columns={"Step": "step", "AgentID": "agent_id"})
    # a type with no agent in the model (e.g. a scenario without neoclouds) leaves an
    # empty record, which pandas reads as one row of blanks
    df = df[df["step"].notna()].astype({"step": int, "agent_id": int})
    if len(df):
        df.insert(0, "month", [month_label(model.p["start_month"], int(s) - 1) for s in df["step"]])
    return df


def provider_table(model: ComputeMarket) -> pd.DataFrame:
    """One row per provider (hyperscaler or neocloud) per month, in month and agent
    order: the two types' rows of the data collector put together."""
    from agents import Hyperscaler, Neocloud

    parts = [_per_agent(model, cls) for cls in (Hyperscaler, Neocloud)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return _per_agent(model, Hyperscaler)
    df = pd.concat(parts, ignore_index=True)
    return df.sort_values(["step", "agent_id"], kind="stable").reset_index(drop=True)


CONTRACT_COLUMNS = (
    "contract_id",
    "buyer",
    "seller",
    "facility",
    "capacity_h100e",
    "signed_month",
    "start_month",
    "term_months",
    "end_month",
    "price_usd_per_h100e_hour",
    "price_usd_per_mw_month",
    "ramp_months",
    "ramp_discount",
    "take_or_pay_share",
    "cancellation_notice_months",
    "exclusive",
    "purpose",
    "origin",
    "state",
    "ended_month",
    "end_reason",
    "paid_usd",
    "cancellation_fee_usd",
    # resale: the contract a sub-contract resells part of, the right to resell, the exchange
    "parent_contract_id",
    "resale_right",
    "via_broker",
    # a buyer's exit: the seller's claim on the buyer's estate and what it recovered
    "claim_usd",
    "recovered_usd",
)


def contract_book(model: ComputeMarket) -> pd.DataFrame:
    """The contract book as a table: one row per contract ever signed."""
    names = model.names_by_id
    start = model.p["start_month"]
    rows = []
    for c in model.book.all:
        site = model.facilities.get(c.facility_id)
        row = {name: getattr(c, name, None) for name in CONTRACT_COLUMNS}
        row.update(
            buyer=names.get(c.buyer_id, str(c.buyer_id)),
            seller=names.get(c.seller_id, str(c.seller_id)),
            facility=site.name if site else str(c.facility_id),
            signed_month=month_label(start, c.signed_month),
            start_month=month_label(start, c.start_month),
            end_month=month_label(start, c.end_month),
            purpose=str(c.purpose),
            origin=str(c.origin),
            state=c.state.label,
            ended_month=month_label(start, c.ended_month) if c.ended_month >= 0 else "",
            end_reason=str(c.end_reason),
        )
        row.update(
            parent_contract_id="" if c.parent_id is None else c.parent_id,
            via_broker="" if c.via_broker_id is None else names.get(c.via_broker_id, ""),
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(CONTRACT_COLUMNS))


def raise_log(model: ComputeMarket) -> pd.DataFrame:
    """The financing log as a table: one row per equity round and loan (raises.csv)."""
    start = model.p["start_month"]
    rows = [
        {
            **{o.name: getattr(r, o.name) for o in RAISE_COLUMNS},
            "month": month_label(start, r.month),
        }
        for r in model.ledger.raises
    ]
    return pd.DataFrame(rows, columns=[o.name for o in RAISE_COLUMNS])


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def summarise(model: ComputeMarket, ts: pd.DataFrame, signed: int) -> dict[str, Any]:
    """The run's headline figures: the last month's outputs, ``signed`` contracts
    (``contracts_signed``) and the mean rationed share."""
    last = ts.iloc[-1] if len(ts) else None
    get = (lambda k: _clean(float(last[k]))) if last is not None else (lambda k: None)
    return {
        "scenario": model.spec.name,
        "seed": model.seed,
        "final_month": str(last["month"]) if last is not None else model.p["start_month"],
        "months": len(ts),
        "active_labs": get("active_labs"),
        "active_neoclouds": get("active_neoclouds"),
        "active_hyperscalers": get("active_hyperscalers"),
        "capacity_h100e_total": get("capacity_h100e_total"),
        "capacity_h100e_hyperscaler": get("capacity_h100e_hyperscaler"),
        "capacity_h100e_neocloud": get("capacity_h100e_neocloud"),
        "capacity_h100e_lab": get("capacity_h100e_lab"),
        "spot_price_index_usd_per_h100e_hour": get("spot_price_index_usd_per_h100e_hour"),
        "capacity_hhi": get("capacity_hhi"),
        "lab_compute_hhi": get("lab_compute_hhi"),
        "contracts_signed": signed,
        "rationed_share": get("rationed_share"),
        "mean_rationed_share": _clean(float(ts["rationed_share"].mean())) if len(ts) else None,
        "largest_run_h100e_months": get("largest_run_h100e_months"),
        "cumulative_exits": get("cumulative_exits"),
        "cumulative_acquisitions": get("cumulative_acquisitions"),
        "cumulative_blocked_mergers": get("cumulative_blocked_mergers"),
        "cumulative_surplus_leases": get("cumulative_surplus_leases"),
    }


def write(
    result: RunResult, out: Path, overwrite: bool = False, figures: FigureWriter | None = None
) -> list[str]:
    """Write every output into a temporary sibling folder, then move it into place; the
    figures, if a writer is given, go into its ``figures/`` folder."""
    out = check_out_dir(out, overwrite)
    with replaced_folder(out) as tmp:
        result.timeseries.to_csv(tmp / "timeseries.csv", index=False, float_format=FLOAT_FORMAT)
        result.contracts.to_csv(tmp / "contracts.csv", index=False, float_format=FLOAT_FORMAT)
        if result.raises is not None:
            result.raises.to_csv(tmp / "raises.csv", index=False, float_format=FLOAT_FORMAT)
        result.events.to_csv(tmp / "events.csv", index=False)
        result.labs.to_csv(tmp / "labs.csv", index=False, float_format=FLOAT_FORMAT)
        result.suppliers.to_csv(tmp / "suppliers.csv", index=False, float_format=FLOAT_FORMAT)
        result.providers.to_csv(tmp / "providers.csv", index=False, float_format=FLOAT_FORMAT)
        (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
        (tmp / "manifest.json").write_text(
            json.dumps(result.manifest, indent=2, default=str) + "\n"
        )
        if figures is not None:
            figures(result, tmp / "figures")
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
