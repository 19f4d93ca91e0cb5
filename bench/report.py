"""The benchmark's one table, stated against the targets, and its JSON and plot."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Row:
    item: str
    measure: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None  # None: no target for this line

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.met]


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    series: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # for the plot

    def add(self, item: str, measure: str, value: float, unit: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(item, measure, value, unit, target, met))
        print(f"  {item}: {measure} = {value:,.3f} {unit} {target} {'' if met is None else ('met' if met else 'MISSED')}", flush=True)

    def table(self) -> str:
        header = ("item", "measure", "value", "unit", "target", "")
        lines = [header] + [
            (row.item, row.measure, f"{row.value:,.3f}", row.unit, row.target, row.verdict) for row in self.rows
        ]
        widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
        rendered = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in lines]
        rendered.insert(1, "-+-".join("-" * width for width in widths))
        return "\n".join(rendered)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "results.json").write_text(
            json.dumps({"rows": [asdict(row) for row in self.rows], "series": self.series}, indent=2),
            encoding="utf-8",
        )
        (directory / "results.txt").write_text(self.table() + "\n", encoding="utf-8")
        self._plot(directory / "results.png")

    def _plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4.5))
        bars = self.series.get("throughput", {})
        throughput.bar(list(bars), [values[0] for values in bars.values()], color="#3b6ea5")
        throughput.set_ylabel("requests completed per second")
        throughput.set_title("Approved requests: engine ceiling and desk")
        for label, values in self.series.get("latency", {}).items():
            rates = self.series["latency_rates"][label]
            latency.plot(rates, [v * 1000 for v in values], marker="o", label=label)
        latency.axhline(1000, color="#a33", linestyle="--", linewidth=1, label="1 s")
        latency.set_xlabel("decisions per second")
        latency.set_ylabel("ms")
        latency.set_title("Decision latency (Update call to row committed)")
        latency.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=110)
