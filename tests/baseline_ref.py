#!/usr/bin/python3
"""Independent reference implementation of the CalTRACK-style baseline models
meter-baseline(1) describes (the daily degree-day model and the hourly
time-of-week and temperature model), written apart from lib/baseline.c from
the specification alone, with numpy's least squares (LAPACK) where the
program has GSL's: tests/78-baseline.bats compares the two.

Usage:
  baseline_ref.py --usage USAGE.csv[.gz] --temp TEMP.csv[.gz] --tz ZONE
                  --baseline FROM..TO [--reporting FROM..TO] --model daily|hourly

Only numpy and the standard library are used.
"""
import argparse
import csv
import datetime as _dt
import gzip
import io
import json
import math
import sys
from zoneinfo import ZoneInfo

import numpy as np

UTC = _dt.timezone.utc
EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------
# Student t distribution (regularized incomplete beta, Numerical Recipes betacf)
# ---------------------------------------------------------------------------
def _betacf(a, b, x):
    MAXIT = 1000000
    EPS = 1e-16
    FPMIN = 1e-300
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < FPMIN:
        d = FPMIN
    d = 1.0 / d
    h = d
    for m in range(1, MAXIT + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < FPMIN:
            d = FPMIN
        c = 1.0 + aa / c
        if abs(c) < FPMIN:
            c = FPMIN
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < FPMIN:
            d = FPMIN
        c = 1.0 + aa / c
        if abs(c) < FPMIN:
            c = FPMIN
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < EPS:
            break
    return h


def _betai(a, b, x, omx):
    """Regularized incomplete beta I_x(a, b); omx = 1 - x supplied accurately."""
    if x <= 0.0:
        return 0.0
    if omx <= 0.0:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
           + a * math.log(x) + b * math.log(omx))
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, omx) / b


def t_two_sided_p(t, df):
    """Two-sided p-value P(|T| >= |t|) for Student t with df degrees of freedom."""
    if math.isnan(t):
        return float('nan')
    if math.isinf(t):
        return 0.0
    t2 = t * t
    x = df / (df + t2)
    omx = t2 / (df + t2)
    return _betai(df / 2.0, 0.5, x, omx)


def t_cdf(t, df):
    p = t_two_sided_p(t, df)
    if t >= 0:
        return 1.0 - 0.5 * p
    return 0.5 * p


def t_quantile(q, df):
    """Quantile of Student t (q > 0.5) by bisection on the CDF."""
    lo, hi = 0.0, 8.0
    while t_cdf(hi, df) < q:
        lo = hi
        hi *= 2.0
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        if mid == lo or mid == hi:
            break
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------
def _open_text(path):
    if path.endswith('.gz'):
        return io.TextIOWrapper(gzip.open(path, 'rb'), encoding='utf-8', newline='')
    return open(path, 'r', encoding='utf-8', newline='')


def _parse_instant(s, tz):
    s = s.strip()
    if s.endswith('Z') or s.endswith('z'):
        s = s[:-1] + '+00:00'
    d = _dt.datetime.fromisoformat(s)
    if d.tzinfo is None:          # not expected by the spec; read as local time
        d = d.replace(tzinfo=tz)
    delta = d - EPOCH
    secs = delta.days * 86400 + delta.seconds
    if delta.microseconds:
        return secs + delta.microseconds / 1e6
    return secs


def _parse_value(s):
    s = s.strip()
    if s == '':
        return None
    v = float(s)
    if math.isnan(v):
        return None
    return v


def read_series(path, tz):
    """Return dict {epoch seconds: value or None}.  Later rows override earlier."""
    out = {}
    with _open_text(path) as f:
        rd = csv.reader(f)
        header = next(rd, None)
        for row in rd:
            if not row or (len(row) == 1 and row[0].strip() == ''):
                continue
            key = _parse_instant(row[0], tz)
            val = _parse_value(row[1]) if len(row) > 1 else None
            out[key] = val
    return out


def parse_period(s):
    a, b = s.split('..')
    return _dt.date.fromisoformat(a.strip()), _dt.date.fromisoformat(b.strip())


# ---------------------------------------------------------------------------
# hour enumeration over a period of local dates
# ---------------------------------------------------------------------------
class Hours:
    pass


def enumerate_hours(d0, d1, tz, usage, temp):
    """All whole-UTC-hour instants whose local date lies in [d0, d1]."""
    start = _dt.datetime(d0.year, d0.month, d0.day, tzinfo=UTC) - _dt.timedelta(days=2)
    end = _dt.datetime(d1.year, d1.month, d1.day, tzinfo=UTC) + _dt.timedelta(days=3)
    t0 = int((start - EPOCH).total_seconds())
    t1 = int((end - EPOCH).total_seconds())
    ep, dord, mon, hour, how, yv, tv = [], [], [], [], [], [], []
    o0, o1 = d0.toordinal(), d1.toordinal()
    for t in range(t0, t1, 3600):
        loc = _dt.datetime.fromtimestamp(t, tz)
        o = loc.date().toordinal()
        if o < o0 or o > o1:
            continue
        ep.append(t)
        dord.append(o)
        mon.append(loc.month)
        hour.append(loc.hour)
        how.append((loc.isoweekday() - 1) * 24 + loc.hour)
        u = usage.get(t)
        yv.append(float('nan') if u is None else u)
        f = temp.get(t)
        tv.append(float('nan') if f is None else (f - 32) * 5 / 9)
    h = Hours()
    h.epoch = np.array(ep, dtype=np.int64)
    h.dord = np.array(dord, dtype=np.int64)
    h.month = np.array(mon, dtype=np.int64)
    h.hour = np.array(hour, dtype=np.int64)
    h.how = np.array(how, dtype=np.int64)
    h.y = np.array(yv, dtype=float)
    h.T = np.array(tv, dtype=float)
    h.d0, h.d1 = d0, d1
    return h


def daily_table(h):
    """Per local date: (ordinal, month, usable, y_sum, T_mean)."""
    days = []
    if len(h.epoch) == 0:
        return days
    # hours are in time order, so each date's hours are contiguous
    bounds = np.flatnonzero(np.diff(h.dord)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(h.dord)]))
    for s, e in zip(starts, ends):
        ys = h.y[s:e]
        ts = h.T[s:e]
        nh = e - s
        have_y = not np.any(np.isnan(ys))
        nt = int(np.count_nonzero(~np.isnan(ts)))
        usable = have_y and nt >= nh / 2.0
        if usable:
            ysum = float(sum(float(v) for v in ys))
            tp = [float(v) for v in ts if not math.isnan(v)]
            tmean = sum(tp) / len(tp)
        else:
            ysum = tmean = None
        d = _dt.date.fromordinal(int(h.dord[s]))
        days.append((int(h.dord[s]), d.month, usable, ysum, tmean))
    return days


# ---------------------------------------------------------------------------
# sufficiency
# ---------------------------------------------------------------------------
def period_days(d0, d1):
    return d1.toordinal() - d0.toordinal() + 1


def month_of_days(d0, d1):
    cnt = {}
    for o in range(d0.toordinal(), d1.toordinal() + 1):
        m = _dt.date.fromordinal(o).month
        cnt[m] = cnt.get(m, 0) + 1
    return cnt


def check_length(d0, d1):
    nd = period_days(d0, d1)
    if nd < 365:
        return "baseline period of %d days: at least 365 are needed" % nd
    return None


def check_daily_sufficiency(d0, d1, days):
    r = check_length(d0, d1)
    if r:
        return r
    nd = period_days(d0, d1)
    usable = sum(1 for d in days if d[2])
    if usable / nd < 0.9:
        return "usable days %d of %d (%.4f): at least 0.9 are needed" % (usable, nd, usable / nd)
    pm = month_of_days(d0, d1)
    um = {}
    for d in days:
        if d[2]:
            um[d[1]] = um.get(d[1], 0) + 1
    for m in range(1, 13):
        if m in pm:
            u = um.get(m, 0)
            if u / pm[m] < 0.9:
                return ("month %d: usable days %d of %d (%.4f): at least 0.9 are needed"
                        % (m, u, pm[m], u / pm[m]))
    return None


def check_hourly_sufficiency(d0, d1, h):
    r = check_length(d0, d1)
    if r:
        return r
    usable = (~np.isnan(h.y)) & (~np.isnan(h.T))
    nh = len(h.epoch)
    nu = int(usable.sum())
    if nh == 0 or nu / nh < 0.9:
        return "usable hours %d of %d (%.4f): at least 0.9 are needed" % (nu, nh, nu / nh if nh else 0.0)
    for m in range(1, 13):
        sel = h.month == m
        ph = int(sel.sum())
        if ph == 0:
            continue
        u = int((usable & sel).sum())
        if u / ph < 0.9:
            return ("month %d: usable hours %d of %d (%.4f): at least 0.9 are needed"
                    % (m, u, ph, u / ph))
    return None


# ---------------------------------------------------------------------------
# shared statistics
# ---------------------------------------------------------------------------
def fit_stats(y, yhat, k):
    n = len(y)
    e = y - yhat
    sse = float(np.sum(e * e))
    ybar = float(np.mean(y))
    sst = float(np.sum((y - ybar) ** 2))
    r2 = 1.0 - sse / sst if sst > 0 else 0.0
    dof = n - k
    adj = 1.0 - (1.0 - r2) * (n - 1) / dof if dof > 0 else None
    cvrmse = math.sqrt(sse / dof) / ybar if dof > 0 else None
    nmbe = float(np.sum(e)) / (dof * ybar) if dof > 0 else None
    return dict(n=n, k=k, sse=sse, r2=r2, adj_r2=adj, cvrmse=cvrmse, nmbe=nmbe, resid=e)


def lag1_rho(e):
    e = np.asarray(e, dtype=float)
    den = float(np.sum(e * e))
    if den == 0:
        return 0.0
    return float(np.sum(e[1:] * e[:-1])) / den


def savings_block(n, k, cvrmse, resid, expected, actual):
    m = len(expected)
    exp_sum = float(sum(float(v) for v in expected))
    act_sum = float(sum(float(v) for v in actual))
    sav = float(sum(float(a) - float(b) for a, b in zip(expected, actual)))
    fsu = None
    if m > 0 and exp_sum != 0 and cvrmse is not None and n - k > 0:
        F = sav / exp_sum
        rho = lag1_rho(resid)
        if F != 0 and rho != 1.0 and rho != -1.0:
            nprime = n * (1 - rho) / (1 + rho)
            t = t_quantile(0.95, n - k)
            inner = (n / nprime) * (1 + 2 / n) * (1 / m)
            if inner >= 0:
                fsu = t * 1.26 * cvrmse * math.sqrt(inner) / F
    return dict(reporting_n=m, expected=exp_sum, actual=act_sum, savings=sav, fsu_90=fsu)


# ---------------------------------------------------------------------------
# daily model
# ---------------------------------------------------------------------------
def f2c(f):
    return (f - 32) * 5 / 9


def ols_candidate(y, cols):
    """cols: list of arrays (degree-day columns).  Returns (beta, yhat, se) or None."""
    n = len(y)
    X = np.column_stack([np.ones(n)] + cols)
    k = X.shape[1]
    beta, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    yhat = X @ beta
    return X, beta, yhat, k, rank


def fit_daily(base_days, rep_days):
    ud = [d for d in base_days if d[2]]
    y = np.array([d[3] for d in ud], dtype=float)
    T = np.array([d[4] for d in ud], dtype=float)
    n = len(y)
    ybar = float(np.mean(y))
    sst = float(np.sum((y - ybar) ** 2))

    grid = list(range(30, 91))
    hdd = {bp: np.maximum(f2c(bp) - T, 0.0) for bp in grid}
    cdd = {bp: np.maximum(T - f2c(bp), 0.0) for bp in grid}

    def col_ok_pre(c):
        return int(np.count_nonzero(c > 0)) >= 10 and float(np.sum(c)) * 1.8 >= 20

    cands = [('intercept_only', None, None)]
    cands += [('hdd_only', bp, None) for bp in grid]
    cands += [('cdd_only', None, bp) for bp in grid]
    cands += [('hdd_cdd', hb, cb) for hb in grid for cb in grid if hb <= cb]

    best = None
    for typ, hb, cb in cands:
        cols = []
        if hb is not None:
            cols.append(hdd[hb])
        if cb is not None:
            cols.append(cdd[cb])
        if not all(col_ok_pre(c) for c in cols):
            continue
        X, beta, yhat, k, rank = ols_candidate(y, cols)
        if n - k <= 0:
            continue
        e = y - yhat
        sse = float(np.sum(e * e))
        if cols:
            if rank < k:
                continue
            if any(beta[j] <= 0 for j in range(1, k)):
                continue
            sigma2 = sse / (n - k)
            try:
                inv = np.linalg.inv(X.T @ X)
            except np.linalg.LinAlgError:
                continue
            ok = True
            for j in range(1, k):
                var = sigma2 * inv[j, j]
                if var < 0:
                    ok = False
                    break
                se = math.sqrt(var)
                tstat = float(beta[j]) / se if se > 0 else math.inf
                p = t_two_sided_p(tstat, n - k)
                if not (p < 0.1):
                    ok = False
                    break
            if not ok:
                continue
            r2 = 1.0 - sse / sst if sst > 0 else 0.0
        else:
            r2 = 0.0
        adj = 1.0 - (1.0 - r2) * (n - 1) / (n - k)
        if best is None or adj > best['adj']:
            best = dict(typ=typ, hb=hb, cb=cb, beta=beta, k=k, adj=adj, yhat=yhat)

    typ, hb, cb, beta, k = best['typ'], best['hb'], best['cb'], best['beta'], best['k']
    st = fit_stats(y, best['yhat'], k)
    if typ == 'intercept_only':
        st['r2'] = 0.0
        st['adj_r2'] = 1.0 - (1.0 - 0.0) * (n - 1) / (n - k)
    a = float(beta[0])
    bh = float(beta[1]) if hb is not None else None
    bc = float(beta[-1]) if cb is not None else None

    def predict(t):
        v = a
        if hb is not None:
            v += bh * max(f2c(hb) - t, 0.0)
        if cb is not None:
            v += bc * max(t - f2c(cb), 0.0)
        return v

    urep = [d for d in rep_days if d[2]]
    expd = [predict(d[4]) for d in urep]
    act = [d[3] for d in urep]
    sv = savings_block(n, k, st['cvrmse'], st['resid'], expd, act)
    out = dict(status='fitted', reason=None, model_type=typ,
               heating_balance_f=hb, cooling_balance_f=cb,
               intercept=a, beta_hdd=bh, beta_cdd=bc,
               n=n, k=k, r2=st['r2'], adj_r2=st['adj_r2'],
               cvrmse=st['cvrmse'], nmbe=st['nmbe'])
    out.update(sv)
    out['days'] = [[_dt.date.fromordinal(d[0]).isoformat(), float(v)] for d, v in zip(urep, expd)]
    return out


# ---------------------------------------------------------------------------
# hourly model
# ---------------------------------------------------------------------------
ENDPOINTS_F = [30, 45, 55, 65, 75, 90]


def bin_features(T, ends_c):
    """Feature matrix (len(T) x (len(ends)+1))."""
    k = len(ends_c)
    if k == 0:
        return T.reshape(-1, 1).copy()
    F = np.empty((len(T), k + 1))
    F[:, 0] = np.minimum(T, ends_c[0])
    for i in range(1, k):
        F[:, i] = np.minimum(np.maximum(T - ends_c[i - 1], 0.0), ends_c[i] - ends_c[i - 1])
    F[:, k] = np.maximum(T - ends_c[k - 1], 0.0)
    return F


def choose_endpoints(T):
    ends = list(ENDPOINTS_F)
    while ends:
        ec = np.array([f2c(e) for e in ends])
        # bin index: 0 for T <= e1, i for e_i < T <= e_{i+1}, k for T > e_k
        idx = np.searchsorted(ec, T, side='left')
        counts = np.bincount(idx, minlength=len(ends) + 1)
        low = None
        for b in range(len(ends) + 1):
            if counts[b] < 20:
                low = b
                break
        if low is None:
            break
        if low == len(ends):
            ends.pop()          # last bin: remove the last endpoint
        else:
            ends.pop(low)       # remove the bin's upper endpoint e_{low+1}
    return ends


def wls(X, y, w):
    sw = np.sqrt(w)
    beta, _, rank, _ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    return beta, rank


def fit_segment(m, month, how, y, T):
    prev_m = 12 if m == 1 else m - 1
    next_m = 1 if m == 12 else m + 1
    in_m = month == m
    if not np.any(in_m):
        return None
    sel = in_m | (month == prev_m) | (month == next_m)
    w = np.where(month[sel] == m, 1.0, 0.5)
    ys, Ts, hs = y[sel], T[sel], how[sel]
    c65, c50 = f2c(65), f2c(50)
    Xo = np.column_stack([np.ones(len(ys)), np.maximum(Ts - c65, 0.0), np.maximum(c50 - Ts, 0.0)])
    bo, _ = wls(Xo, ys, w)
    yhat_o = Xo @ bo
    above = (ys > yhat_o).astype(np.int64)
    cnt = np.bincount(hs, minlength=168)
    cab = np.bincount(hs, weights=above, minlength=168)
    occ = np.zeros(168, dtype=np.int64)
    nz = cnt > 0
    occ[nz] = (cab[nz] / cnt[nz] > 0.65).astype(np.int64)

    ends = choose_endpoints(Ts)
    ends_c = np.array([f2c(e) for e in ends])
    F = bin_features(Ts, ends_c)
    hows = np.flatnonzero(nz)                       # ascending
    hpos = {int(h): j for j, h in enumerate(hows)}
    nh = len(hows)
    nf = F.shape[1]
    X = np.zeros((len(ys), nh + 2 * nf))
    X[np.arange(len(ys)), [hpos[int(h)] for h in hs]] = 1.0
    o = occ[hs].astype(float)
    for i in range(nf):
        X[:, nh + 2 * i] = F[:, i] * o
        X[:, nh + 2 * i + 1] = F[:, i] * (1.0 - o)
    keep = np.flatnonzero(np.any(X != 0.0, axis=0))
    beta_k, rank = wls(X[:, keep], ys, w)
    beta = np.zeros(X.shape[1])
    beta[keep] = beta_k
    how_coef = {int(h): float(beta[hpos[int(h)]]) for h in hows}
    feat_coef = beta[nh:].reshape(nf, 2)            # [:,0] occupied, [:,1] unoccupied
    if rank < len(keep):
        print("note: month %d design rank %d < %d columns" % (m, rank, len(keep)), file=sys.stderr)
    return dict(occ=occ, ends=ends, ends_c=ends_c, how_coef=how_coef, feat_coef=feat_coef,
                ncols=len(keep), rank=rank)


def predict_hours(models, month, how, T):
    """Return (pred array, has_pred mask)."""
    pred = np.full(len(T), np.nan)
    ok = np.zeros(len(T), dtype=bool)
    for m in range(1, 13):
        mod = models.get(m)
        sel = np.flatnonzero(month == m)
        if mod is None or len(sel) == 0:
            continue
        hc = np.array([mod['how_coef'].get(int(h), np.nan) for h in how[sel]])
        has = ~np.isnan(hc)
        F = bin_features(T[sel], mod['ends_c'])
        occ = mod['occ'][how[sel]]
        coef = np.where(occ[:, None] == 1, mod['feat_coef'][:, 0][None, :],
                        mod['feat_coef'][:, 1][None, :])
        v = hc + np.sum(F * coef, axis=1)
        pred[sel[has]] = v[has]
        ok[sel[has]] = True
    return pred, ok


def fit_hourly(bh, rh):
    use = (~np.isnan(bh.y)) & (~np.isnan(bh.T))
    month, how, y, T = bh.month[use], bh.how[use], bh.y[use], bh.T[use]
    models = {}
    for m in range(1, 13):
        mod = fit_segment(m, month, how, y, T)
        if mod is not None:
            models[m] = mod
    k = max(mod['ncols'] for mod in models.values())
    pred, ok = predict_hours(models, month, how, T)
    # every usable baseline hour is predicted by its own month's model
    yb, pb = y[ok], pred[ok]
    st = fit_stats(yb, pb, k)
    n = st['n']
    if rh is not None:
        ruse = (~np.isnan(rh.y)) & (~np.isnan(rh.T))
        rp, rok = predict_hours(models, rh.month[ruse], rh.how[ruse], rh.T[ruse])
        rep_ep = rh.epoch[ruse][rok]
        expd = rp[rok]
        act = rh.y[ruse][rok]
    else:
        rep_ep, expd, act = np.array([], dtype=np.int64), np.array([]), np.array([])
    sv = savings_block(n, k, st['cvrmse'], st['resid'], list(expd), list(act))
    out = dict(status='fitted', reason=None, n=n, k=k, r2=st['r2'], adj_r2=st['adj_r2'],
               cvrmse=st['cvrmse'], nmbe=st['nmbe'])
    out.update(sv)
    out['occupied'] = {str(m): ([int(v) for v in models[m]['occ']] if m in models else None)
                       for m in range(1, 13)}
    out['endpoints_f'] = {str(m): (list(models[m]['ends']) if m in models else None)
                          for m in range(1, 13)}
    out['hours'] = [[_dt.datetime.fromtimestamp(int(t), UTC).strftime('%Y-%m-%dT%H:%M:%SZ'), float(v)]
                    for t, v in zip(rep_ep, expd)]
    return out


# ---------------------------------------------------------------------------
def _clean(o):
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating,)):
        o = float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    return o


DAILY_KEYS = ['status', 'reason', 'model_type', 'heating_balance_f', 'cooling_balance_f',
              'intercept', 'beta_hdd', 'beta_cdd', 'n', 'k', 'r2', 'adj_r2', 'cvrmse', 'nmbe',
              'reporting_n', 'expected', 'actual', 'savings', 'fsu_90', 'days']
HOURLY_KEYS = ['status', 'reason', 'n', 'k', 'r2', 'adj_r2', 'cvrmse', 'nmbe', 'reporting_n',
               'expected', 'actual', 'savings', 'fsu_90', 'occupied', 'endpoints_f', 'hours']


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--usage', required=True)
    ap.add_argument('--temp', required=True)
    ap.add_argument('--tz', required=True)
    ap.add_argument('--baseline', required=True)
    ap.add_argument('--reporting')
    ap.add_argument('--model', required=True, choices=['daily', 'hourly'])
    a = ap.parse_args(argv)
    tz = ZoneInfo(a.tz)
    usage = read_series(a.usage, tz)
    temp = read_series(a.temp, tz)
    b0, b1 = parse_period(a.baseline)
    bh = enumerate_hours(b0, b1, tz, usage, temp)
    rh = None
    if a.reporting:
        r0, r1 = parse_period(a.reporting)
        rh = enumerate_hours(r0, r1, tz, usage, temp)

    keys = DAILY_KEYS if a.model == 'daily' else HOURLY_KEYS
    if a.model == 'daily':
        bdays = daily_table(bh)
        reason = check_daily_sufficiency(b0, b1, bdays)
        if reason is None:
            out = fit_daily(bdays, daily_table(rh) if rh is not None else [])
    else:
        reason = check_hourly_sufficiency(b0, b1, bh)
        if reason is None:
            out = fit_hourly(bh, rh)
    if reason is not None:
        out = {k: None for k in keys}
        out['status'] = 'insufficient'
        out['reason'] = reason
    out = {k: out.get(k) for k in keys}
    if out['status'] == 'fitted':
        lst = 'days' if a.model == 'daily' else 'hours'
        if out[lst] is None:
            out[lst] = []
    sys.stdout.write(json.dumps(_clean(out)) + '\n')


if __name__ == '__main__':
    main()
