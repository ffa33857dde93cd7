TITLE leak with comments everywhere
COMMENT
A block comment with NEURON { braces } inside.
ENDCOMMENT
NEURON { : after a brace
    SUFFIX leakc : trailing
    NONSPECIFIC_CURRENT i
    RANGE g, e  ? an old-style comment
}
COMMENT between blocks ENDCOMMENT
PARAMETER {
    g = 0.0003 (S/cm2) : with units
    e = -54.3 (mV)
}
ASSIGNED { v (mV) i (mA/cm2) }
BREAKPOINT {
    COMMENT inside a block ENDCOMMENT
    i = g * (v - e) : the current
}
: last line without a newline
: end