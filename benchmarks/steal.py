"""How much of the machine's CPU time the hypervisor gave to other guests during a window (Linux).

The benchmarks import it as ``steal`` (Python puts the running script's folder,
``benchmarks/``, first on the path). On a virtual machine whose host is busy,
"steal" time is time this machine's CPUs were ready to run and did not: it
slows every contender of a round by as much, but it comes and goes within a
run, so rounds of one contender can be slower than another's for no fault of
either. A benchmark prints it next to its figures to say how far they can be
trusted. Reads ``/proc/stat``; elsewhere the share is unknown (None).
"""

from __future__ import annotations

from pathlib import Path

PROC_STAT = Path("/proc/stat")
_STEAL_FIELD = 7  # user nice system idle iowait irq softirq steal ... (proc(5))


def cpu_jiffies() -> tuple[int, int] | None:
    """(steal, total) CPU time of the whole machine so far, in clock ticks; None where unknown."""
    try:
        fields = PROC_STAT.read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    if len(fields) <= _STEAL_FIELD:
        return None
    # guest time is already counted in user and nice, so it is left out of the total
    counted = [int(value) for value in fields[: _STEAL_FIELD + 1]]
    return counted[_STEAL_FIELD], sum(counted)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of the machine's CPU time stolen between two ``cpu_jiffies`` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def percent(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"


def describe(share: float | None) -> str:
    """e.g. "hypervisor steal 12% of the machine's CPU time", or that it is unknown."""
    if share is None:
        return "hypervisor steal unknown here"
    return f"hypervisor steal {percent(share)} of the machine's CPU time"
