"""providers.csv: one row per provider per month, with its balance sheet, capacity, the
forwards it sold and its claims; forward P&L is what the ledger paid, and sums to zero."""

from collections import defaultdict

import pandas as pd
import pytest

from market.run import runner

PROVIDER_COLUMNS = [
    "month",
    "step",
    "agent_id",
    "name",
    "kind",
    "cash_usd",
    "debt_usd",
    "capacity_h100e",
    "contracted_h100e",
    "forward_exposure_h100e_hours",
    "forward_pnl_usd",
    "claims_recovered_usd",
    "claims_written_off_usd",
]


def test_baseline_run_writes_providers_csv(tmp_path):
    r = runner.run("baseline", seed=1, years=3, out=tmp_path / "run")  # forwards settle
    assert "providers.csv" in r.files
    prov = pd.read_csv(tmp_path / "run" / "providers.csv")
    assert list(prov.columns) == PROVIDER_COLUMNS
    ts = pd.read_csv(tmp_path / "run" / "timeseries.csv")
    assert set(prov["month"]) == set(ts["month"])
    assert set(prov["kind"]) == {"hyperscaler", "neocloud"}
    assert not prov.duplicated(["month", "agent_id"]).any()
    # every provider alive at the end has its row in the last month
    last = prov[prov["step"] == prov["step"].max()]
    assert set(last["agent_id"]) == {f.unique_id for f in r.model.providers()}
    assert (prov["capacity_h100e"] >= 0).all() and (prov["contracted_h100e"] > 0).any()
    # a provider that sold forwards shows its (short) exposure and what they paid it
    sellers = {f.seller_id for f in r.model.forward_book.forwards}
    assert sellers and sellers <= set(prov["agent_id"])
    for firm_id in sellers:
        rows = prov[prov["agent_id"] == firm_id]
        assert (rows["forward_exposure_h100e_hours"] < 0).any(), firm_id
    assert (prov["forward_pnl_usd"] != 0).any()


def _record_forward_cash(model):
    """Wrap the ledger so every forward settlement payment is noted per firm."""
    received: defaultdict[int, float] = defaultdict(float)
    pay = model.ledger.pay

    def noting(payer, payee, amount, memo):
        if memo == "forward settlement" and amount > 0:
            received[payer.unique_id] -= amount
            received[payee.unique_id] += amount
        pay(payer, payee, amount, memo)

    model.ledger.pay = noting
    return received


def test_forward_pnl_is_the_ledgers_forward_cash_and_sums_to_zero():
    model = runner.build_model("baseline", seed=1, years=3)  # a seed whose forwards settle
    received = _record_forward_cash(model)
    by_step: dict[int, dict[int, float]] = {}
    model.run_months(
        model.horizon_months, progress=lambda m: by_step.update({m.steps: {**received}})
    )
    result = runner.collect(model)
    firms = pd.concat([result.labs, result.providers], ignore_index=True)
    traded = firms[firms["forward_pnl_usd"] != 0]
    assert len(traded) and set(traded["agent_id"]) & set(result.providers["agent_id"])
    for row in firms.itertuples():
        paid = by_step[row.step].get(row.agent_id, 0.0)
        assert row.forward_pnl_usd == pytest.approx(paid, rel=1e-9, abs=1e-3), row
    scale = max(abs(v) for v in received.values())
    assert scale > 0
    # money conserved: every settlement moved cash from one firm to another
    assert sum(received.values()) == pytest.approx(0.0, abs=1e-9 * scale)
    assert sum(model.forward_book.pnl_usd.values()) == pytest.approx(0.0, abs=1e-9 * scale)
    # labs are the longs: what reached them each month is the timeseries' settlement
    labs = set(result.labs["agent_id"])
    longs = [sum(v for k, v in by_step[s].items() if k in labs) for s in sorted(by_step)]
    monthly = pd.Series(longs).diff().fillna(longs[0])
    assert list(monthly) == pytest.approx(
        list(result.timeseries["forward_settlement_usd"]), abs=1e-3
    )
