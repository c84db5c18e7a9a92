"""The one look of slokit's pages: the console (`slokit serve`) and the in-process status page share it, so a
team reading either sees the same colours for the same states."""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:.7rem 1.5rem;display:flex;gap:1.2rem;align-items:baseline}
header a{color:#fff;text-decoration:none;font-weight:600} header .where{color:#aeb6bf;font-size:.85rem}
main{padding:1rem 1.5rem} h1{font-size:1.3rem;margin:.2rem 0 .6rem} h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;background:#fff;width:100%} a{color:#2f5fb0}
th,td{padding:.4rem .45rem;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{font-weight:600;color:#5b6570;font-size:.8rem;white-space:nowrap} th a{color:#5b6570}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.why{color:#5b6570;font-size:.82rem} .desc{color:#5b6570;font-size:.82rem;max-width:22rem;overflow-wrap:break-word} td.slo{min-width:14rem}
.banner{background:#fde0de;color:#7d160f;border:1px solid #f2b8b3;padding:.6rem .9rem;margin:0 0 1rem;border-radius:4px}
.tier-ok{background:#e3f4e8;color:#13622e}.tier-ticket{background:#fff1cc;color:#7a5300}
.tier-page{background:#fde0de;color:#9d1c13}.tier-unknown{background:#eceef1;color:#5b6570}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:9px;font-weight:600;font-size:.82rem;white-space:nowrap;margin:0 .2rem .2rem 0}
.burn{display:inline-block;margin:0 .2rem .2rem 0;padding:0 .35rem;border-radius:4px;font-variant-numeric:tabular-nums;font-size:.82rem}
.cond{white-space:nowrap} .alert-firing{background:#fde0de;color:#9d1c13}.alert-pending{background:#fff1cc;color:#7a5300}
.bar{display:inline-block;width:70px;height:7px;background:#eceef1;border-radius:3px;margin-right:.35rem;vertical-align:middle}
.bar i{display:block;height:7px;border-radius:3px;background:#2f9d6a}.bar i.low{background:#d0552f}
form.filters{display:flex;gap:.8rem;align-items:center;margin:0 0 .8rem;flex-wrap:wrap}
form.filters label{color:#5b6570;font-size:.85rem} .count{color:#5b6570;font-size:.85rem}
.cards{display:flex;gap:.7rem;flex-wrap:wrap;margin:.4rem 0 1rem}
.card{background:#fff;border:1px solid #e3e6ea;border-radius:5px;padding:.5rem .8rem;min-width:8rem}
.card b{display:block;font-size:1.15rem} .card span{color:#5b6570;font-size:.8rem}
svg.chart{background:#fff;border:1px solid #e3e6ea;font-size:11px;fill:#5b6570} svg.chart text{fill:#5b6570}
figure{margin:0 0 1rem} figcaption{color:#5b6570;font-size:.82rem}
pre{background:#fff;border:1px solid #e3e6ea;padding:.6rem;overflow-x:auto;font-size:.8rem}
"""  # noqa: E501 - one CSS rule per line, as the page sends it
