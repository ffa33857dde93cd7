: Delayed-rectifier potassium current with Hodgkin-Huxley kinetics, for the bmtool example cell.
NEURON {
    SUFFIX kdr_demo
    USEION k READ ek WRITE ik
    RANGE gbar, g
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.036 (S/cm2)
    q10 = 3
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    g (S/cm2)
    ninf
    ntau (ms)
    celsius (degC)
}

STATE { n }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar * n * n * n * n
    ik = g * (v - ek)
}

INITIAL {
    rates(v)
    n = ninf
}

DERIVATIVE states {
    rates(v)
    n' = (ninf - n) / ntau
}

PROCEDURE rates(v (mV)) {
    LOCAL an, bn, k, x
    k = q10 ^ ((celsius - 6.3) / 10)
    x = -(v + 55)
    if (fabs(x / 10) < 1e-6) {
        an = 0.01 * 10 * (1 - x / 10 / 2)
    } else {
        an = 0.01 * x / (exp(x / 10) - 1)
    }
    bn = 0.125 * exp(-(v + 65) / 80)
    ntau = 1 / (k * (an + bn))
    ninf = an / (an + bn)
}
