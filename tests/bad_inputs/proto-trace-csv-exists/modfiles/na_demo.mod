: Transient sodium current with Hodgkin-Huxley kinetics, written for the bmtool example cell.
NEURON {
    SUFFIX na_demo
    USEION na READ ena WRITE ina
    RANGE gbar, g
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.12 (S/cm2)
    q10 = 3
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
    g (S/cm2)
    minf
    hinf
    mtau (ms)
    htau (ms)
    celsius (degC)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * m * m * m * h
    ina = g * (v - ena)
}

INITIAL {
    rates(v)
    m = minf
    h = hinf
}

DERIVATIVE states {
    rates(v)
    m' = (minf - m) / mtau
    h' = (hinf - h) / htau
}

PROCEDURE rates(v (mV)) {
    LOCAL am, bm, ah, bh, k
    k = q10 ^ ((celsius - 6.3) / 10)
    am = 0.1 * linoid(-(v + 40), 10)
    bm = 4 * exp(-(v + 65) / 18)
    ah = 0.07 * exp(-(v + 65) / 20)
    bh = 1 / (exp(-(v + 35) / 10) + 1)
    mtau = 1 / (k * (am + bm))
    minf = am / (am + bm)
    htau = 1 / (k * (ah + bh))
    hinf = ah / (ah + bh)
}

: x / (exp(x / y) - 1), continuous at x = 0
FUNCTION linoid(x, y) {
    if (fabs(x / y) < 1e-6) {
        linoid = y * (1 - x / y / 2)
    } else {
        linoid = x / (exp(x / y) - 1)
    }
}
