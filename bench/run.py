"""`just bench`: D, P, G (and L) measured back to back in one run; see bench/README.md.

    just bench                  throughput + latency tables, streaming TTFB (~10 min)
    just bench --quick          the same as a smoke run (~2 s per measurement, ~2.5 min)
    just bench --soak           1,000 concurrent slow streams on G (and D as the reference)
    just bench --memory         G's RSS over 100,000 requests
    just bench --profile        py-spy on G under c=32 load (needs py-spy in .venv)

Results are printed and written to bench/results/<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import uvloop

import backend
import procs
import proxy_cost
import pyspy
import report
import summary
from memory import drive
from probes import (
    count_request_logs,
    git_state,
    log,
    machine_load,
    prime,
    probe_formats,
    probe_routes,
    raise_nofile_limit,
)
from scenarios import ALL_ROUTES, BY_KEY, MODELS, PROXIED, ROWS, SCENARIOS, Scenario, row_label
from soak import soak_mode
from targets import Services, Target, litellm_bin, running
from ttfb import measure as measure_ttfb
from wrkparse import run_wrk

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="just bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: ~2 s per measurement")
    parser.add_argument("--duration", type=int, help="seconds per measured wrk run (10)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up before each (2)")
    parser.add_argument(
        "--targets", default="D,P,G,L", help="which of D,P,G,L to measure (default all)"
    )
    parser.add_argument(
        "--only",
        metavar="WORDS",
        help="measure only scenarios whose key contains one of these comma-separated words "
        "(e.g. agentic, or 'openai non-stream c=32')",
    )
    parser.add_argument("--ttfb-requests", type=int, help="sequential streams for TTFB (500)")
    parser.add_argument("--soak", action="store_true", help="the concurrent slow-stream soak")
    parser.add_argument("--soak-streams", type=int, help="concurrent streams (1000)")
    parser.add_argument("--soak-chunks", type=int, default=20)
    parser.add_argument("--soak-delay-ms", type=float, default=50.0)
    parser.add_argument("--memory", action="store_true", help="RSS of G over many requests")
    parser.add_argument("--memory-requests", type=int, help="total requests (100000)")
    parser.add_argument("--memory-step", type=int, help="RSS is read every N requests (10000)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy on G under c=32 non-streaming load"
    )
    parser.add_argument(
        "--profile-scenario",
        default="openai non-stream c=32",
        choices=sorted(BY_KEY),
        metavar="KEY",
        help="the scenario --profile loads G with (default: openai non-stream c=32)",
    )
    parser.add_argument(
        "--profile-route",
        default="openai",
        choices=ALL_ROUTES,
        help="the upstream kind G reaches under --profile (default: openai)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' log files")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "duration": (2, 10),
        "warmup": (1, 2),
        "ttfb_requests": (100, 500),
        "soak_streams": (200, 1000),
        "memory_requests": (10_000, 100_000),
        "memory_step": (1_000, 10_000),
    }
    for name, (quick_value, full_value) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick_value if quick else full_value)
    args.targets = [t.strip().upper() for t in args.targets.split(",") if t.strip()]
    words = [w.strip() for w in (args.only or "").split(",") if w.strip()]
    args.scenarios = [s.key for s in SCENARIOS if not words or any(w in s.key for w in words)]
    if not args.scenarios:
        parser.error(f"--only {args.only!r} matches no scenario: {', '.join(BY_KEY)}")
    # the Chat scenarios the selected Responses and Gemini ones are compared with: measured
    # too (their G→openai row only) when not selected themselves
    wanted = {BY_KEY[key].chat_reference for key in args.scenarios} - {None, *args.scenarios}
    args.references = [s.key for s in SCENARIOS if s.key in wanted]
    unknown = set(args.targets) - {"D", "P", "G", "L"}
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    return args


# ---------------------------------------------------------------- throughput and latency


def measure_scenario(
    target: Target, scenario: Scenario, route: str, args: argparse.Namespace, bodies: Path
) -> dict[str, Any]:
    url = target.base_url + scenario.path(route)
    env = scenario.wrk_env(route, bodies, target.api_key)
    label = row_label(ROWS[route]) if target.name == "G" else target.name
    shape = {"threads": scenario.threads, "connections": scenario.connections}
    warm = run_wrk(url, scenario.script, duration_s=args.warmup, env=env, **shape)
    services = procs.pids_named("mariadbd", "mysqld", "redis-server")
    counters = backend.snapshot(Services()) if target.name == "G" else None
    proxy = target.proxy.server if target.proxy is not None else None
    before = procs.CpuSample.take(target.server, target.upstream, services, proxy)
    result = run_wrk(url, scenario.script, duration_s=args.duration, env=env, **shape)
    spent = procs.CpuSample.take(target.server, target.upstream, services, proxy).since(before)
    if counters is not None:
        calls = backend.per_request(counters, backend.snapshot(Services()), result.requests)
    requests = result.requests

    def per_request(seconds: float) -> float | None:
        return seconds * 1000 / requests if requests else None

    row: dict[str, Any] = {
        "status": "ok",
        **result.to_json(),
        "flagged": result.errors > 0,
        "error_text": result.error_text(),
        "warmup_errors": warm.errors,
        "cpu_ms_per_req": per_request(spent["server"]),
        "upstream_cpu_ms_per_req": per_request(spent["upstream"]),
        "services_cpu_ms_per_req": per_request(spent["services"]),
        "wrk_cpu_ms_per_req": per_request(spent["load_generator"]),
        "other_cpu_cores": spent["other_cores"],
        "noisy": spent["other_cores"] > summary.NOISY_CORES,
        "rss_mib": target.server.rss_mib(),
    }
    if route == PROXIED and target.name == "G":
        row["proxy_cpu_ms_per_req"] = per_request(spent["proxy"])
    if counters is not None:
        row["backend_per_req"] = calls
    flag = f"  ERRORS: {result.error_text()}" if row["flagged"] else ""
    if row["noisy"]:
        flag += f"  (other processes used {spent['other_cores']:.2f} cores meanwhile)"
    if warm.errors:
        flag += f"  (warm-up had {warm.errors} errors)"
    log(
        f"  [{label}] {scenario.key:<32} {result.rps:>10,.1f} req/s  "
        f"p50 {result.p50_ms or 0:.3f} ms  p99 {result.p99_ms or 0:.3f} ms  "
        f"CPU {row['cpu_ms_per_req'] or 0:.3f} ms/req{flag}"
    )
    return row


def measure_target(
    name: str, args: argparse.Namespace, log_dir: Path, results: dict[str, Any]
) -> None:
    log(f"[{name}] starting")
    bodies = log_dir / "bodies"
    with running(name, log_dir) as target:
        results["targets"][name] = {"status": "ok", **target.info}
        prime(target)
        if name == "G":
            results["formats"] = probe_formats(target)
            probe_routes(target, results)
        formats = results.get("formats", {})
        routes = results.get("routes", {})
        served = 0
        for scenario in SCENARIOS:
            entry = results["scenarios"][scenario.key]
            if scenario.fmt != "openai" and not formats.get(scenario.fmt, {}).get("supported"):
                continue
            if scenario.key in args.references and name == "G":
                measured = ("openai",)  # only the row the other formats are compared with
            elif scenario.key in args.scenarios and scenario.target_measures(name):
                measured = scenario.routes
            else:
                continue
            if name != "G":
                row = measure_scenario(target, scenario, scenario.reference_route, args, bodies)
                entry["targets"][name] = row
                served += row["requests"]
                continue
            for route in measured:
                if not routes.get(route, {}).get("supported", True):
                    reason = routes[route]["detail"]
                    entry["targets"][ROWS[route]] = {"status": "skipped", "reason": reason}
                    continue
                row = measure_scenario(target, scenario, route, args, bodies)
                entry["targets"][ROWS[route]] = row
                served += row["requests"]
            if (
                PROXIED in measured
                and entry["targets"].get(ROWS[PROXIED], {}).get("status") == "ok"
            ):
                entry["proxy_cost"] = proxy_cost.measure(
                    target, scenario, duration_s=args.duration, warmup_s=args.warmup, log=log
                )
        services = procs.pids_named("mariadbd", "mysqld", "redis-server")
        before = procs.CpuSample.take(target.server, target.upstream, services)
        measured = uvloop.run(
            measure_ttfb(
                target.base_url + "/v1/chat/completions",
                requests=args.ttfb_requests,
                headers=target.headers,
            )
        )
        spent = procs.CpuSample.take(target.server, target.upstream, services).since(before)
        ttfb = measured.summary()
        ttfb.update(
            other_cpu_cores=spent["other_cores"], noisy=spent["other_cores"] > summary.NOISY_CORES
        )
        results["ttfb"][name] = ttfb
        noise = f"  (other processes: {spent['other_cores']:.2f} cores)" if ttfb["noisy"] else ""
        log(
            f"  [{name}] TTFB p50 {ttfb['ttfb_p50_ms'] or 0:.3f} ms  "
            f"p99 {ttfb['ttfb_p99_ms'] or 0:.3f} ms  errors {measured.errors}{noise}"
        )
        if name == "G":
            time.sleep(1)  # one flush interval for the request-log writer
            rows = count_request_logs(target.info["database"])
            results["targets"]["G"]["request_logs"] = {"rows_written": rows, "measured": served}
            # the proxied route must have gone through the proxy (fallback would go direct)
            direct = f"model = '{MODELS[PROXIED]}' AND status_code = 200 AND proxy_id IS NULL"
            results["targets"]["G"]["proxied_served_directly"] = count_request_logs(
                target.info["database"], direct
            )


def throughput(args: argparse.Namespace, log_dir: Path, results: dict[str, Any]) -> None:
    results["scenarios"] = {s.key: {"targets": {}} for s in SCENARIOS}
    results["ttfb"] = {}
    order = [t for t in ("G", "D", "P", "L") if t in args.targets]  # G first: it decides
    if "L" in order and litellm_bin() is None:  # which client formats are measured
        order.remove("L")
        results["targets"]["L"] = {
            "status": "not installed",
            "reason": "L: not installed (see bench/README.md)",
        }
        log("L: not installed (see bench/README.md)")
    runs = len(args.references) * ("G" in order) + sum(
        len(s.routes) + 2 * s.proxied if name == "G" else int(s.target_measures(name))
        for name in order
        for s in SCENARIOS
        if s.key in args.scenarios
    )
    minutes = runs * (args.warmup + args.duration + 0.5) / 60
    log(f"bench: up to {runs} wrk runs of {args.warmup}+{args.duration} s (~{minutes:.1f} min)")
    for name in order:
        measure_target(name, args, log_dir, results)
    summary.summarize_throughput(results)


# ---------------------------------------------------------------- memory and soak


def memory_mode(args: argparse.Namespace, log_dir: Path, results: dict[str, Any]) -> None:
    log(f"[memory] G: {args.memory_requests:,} requests, RSS every {args.memory_step:,}")
    samples: list[dict[str, Any]] = []
    with running("G", log_dir) as target:
        url = target.base_url + "/v1/chat/completions"
        done = 0
        rss_start = target.server.rss_mib()
        while done < args.memory_requests:
            step = min(args.memory_step, args.memory_requests - done)
            driven = uvloop.run(drive(url, target.headers, step, concurrency=32))
            done += driven.requests
            time.sleep(1)  # let the request-log writer drain before reading RSS
            sample = {
                "requests": done,
                "rss_mib": target.server.rss_mib(),
                "errors": driven.errors,
                "rps": driven.requests / driven.seconds if driven.seconds else None,
                "error_samples": driven.error_samples,
            }
            samples.append(sample)
            errors = (
                f"  ERRORS: {driven.errors} {driven.error_samples[:1]}" if driven.errors else ""
            )
            log(
                f"  [G] {done:>7,} requests  RSS {sample['rss_mib']:.1f} MiB  "
                f"{sample['rps'] or 0:,.0f} req/s{errors}"
            )
    first, last = samples[0], samples[-1]
    growth_pct = (last["rss_mib"] - first["rss_mib"]) / first["rss_mib"] * 100
    per_10k = None
    if last["requests"] > first["requests"]:
        per_10k = (last["rss_mib"] - first["rss_mib"]) / (
            (last["requests"] - first["requests"]) / 10_000
        )
    errors = sum(s["errors"] for s in samples)
    results["memory"] = {
        "rss_mib_at_start": rss_start,
        "samples": samples,
        "first": {"requests": first["requests"], "rss_mib": first["rss_mib"]},
        "last": {"requests": last["requests"], "rss_mib": last["rss_mib"]},
        "growth_pct": growth_pct,
        "growth_mib_per_10k_after_first": per_10k,
        "errors": errors,
    }
    results.setdefault("checks", []).extend(
        [
            summary.check(
                f"RSS growth {first['requests']:,} → {last['requests']:,} requests ≤ 10%",
                growth_pct,
                10.0,
                at_least=False,
                unit="%",
                flagged=errors > 0,
            ),
            summary.check(
                "RSS growth per 10,000 requests after warm-up < 1 MiB",
                per_10k,
                1.0,
                at_least=False,
                unit=" MiB",
                flagged=errors > 0,
            ),
        ]
    )


def profile_mode(
    args: argparse.Namespace, log_dir: Path, results: dict[str, Any], started: datetime
) -> None:
    scenario, route = BY_KEY[args.profile_scenario], args.profile_route
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    slug = f"{scenario.key}-{route}".replace(" ", "_").replace("=", "")
    raw = RESULTS / f"{stamp}-pyspy-G-{slug}.txt"
    RESULTS.mkdir(exist_ok=True)
    log(f"[profile] G under {scenario.key} to {route}, py-spy for {args.duration} s")
    with running("G", log_dir) as target:
        url = target.base_url + scenario.path(route)
        env = scenario.wrk_env(route, log_dir / "bodies", target.api_key)
        shape = {"threads": scenario.threads, "connections": scenario.connections}
        run_wrk(url, scenario.script, duration_s=args.warmup, env=env, **shape)
        spy = pyspy.record(target.server.pid, args.duration, raw)
        time.sleep(0.5)
        result = run_wrk(url, scenario.script, duration_s=args.duration, env=env, **shape)
        _, stderr = spy.communicate(timeout=args.duration + 60)
    if spy.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed: {stderr.decode(errors='replace')[-500:]}")
    results["profile"] = {
        "scenario": f"{scenario.key}, G→{route}",
        "rps_while_sampled": result.rps,
        "errors": result.errors,
        "raw": str(raw.relative_to(REPO)),
        **pyspy.rank(raw),
    }


# ---------------------------------------------------------------- main


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [m for m in ("soak", "memory", "profile") if getattr(args, m)] or ["throughput"]
    if {"throughput", "profile"} & set(modes) and shutil.which("wrk") is None:
        log("bench: wrk is not installed; `just bench` installs it (apt-get install -y wrk)")
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    raise_nofile_limit()
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "modes": modes,
        "args": {k: v for k, v in vars(args).items()},
        "git": git_state(),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "nofile_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        },
        "services": Services().__dict__,
        "targets": {},
    }
    if results["git"]["changed_outside_bench"]:
        changed = ", ".join(results["git"]["changed_outside_bench"][:6])
        log(f"bench: note: measuring a work tree with uncommitted changes ({changed}, ...)")
    busy = machine_load(2.0)
    results["machine"]["busy_cores_before"] = busy
    if busy > summary.NOISY_CORES:
        log(f"bench: warning: the machine is already busy ({busy:.2f} cores); numbers will suffer")
    log_dir = Path(tempfile.mkdtemp(prefix="aigw-bench-"))
    failed = True
    try:
        if "throughput" in modes:
            throughput(args, log_dir, results)
        if "soak" in modes:
            soak_mode(args, log_dir, results)
        if "memory" in modes:
            memory_mode(args, log_dir, results)
        if "profile" in modes:
            profile_mode(args, log_dir, results, started)
        failed = False
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        procs.stop_all()
        results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        results["completed"] = not failed
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        if failed or args.keep_logs:
            log(f"bench: server logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
    if "throughput" in modes:
        report.print_throughput(args.duration, results)
    if "soak" in modes:
        report.print_soak(results)
    if "memory" in modes:
        report.print_memory(results)
    if "profile" in modes:
        report.print_profile(results)
    if "throughput" not in modes and results.get("checks"):
        print()
        for line in report.target_lines(results.get("checks", [])):
            print(line)
    print(f"\nresults: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
