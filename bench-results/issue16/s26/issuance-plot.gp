set terminal pngcairo size 1100,560 enhanced
set datafile separator ","
set datafile missing "NaN"
set grid
set lmargin at screen 0.10
set rmargin at screen 0.64
set key at screen 0.66, screen 0.88 left top Left reverse box samplen 3 spacing 1.3 width -1
set logscale x 2
set xrange [0.8:40.0]
set xtics (1, 2, 8, 32)
set xlabel "concurrent clients (wrk connections, keep-alive)"

set output "/tmp/b26a/issuance-rate.png"
set title "Issuance rate, P-256 CA and CSRs (2 cores, AMD EPYC)"
set ylabel "certificates / s"
set yrange [0:*]
plot "/tmp/b26a/issuance-plot.csv" using 1:2 with linespoints lw 3 pt 7 lc rgb "#1f4e9a" title "mica HTTPS", \
     "/tmp/b26a/issuance-plot.csv" using 1:3 with linespoints lw 2 pt 5 lc rgb "#4d8fd6" dt 4 title "mica HTTP (loopback)", \
     "/tmp/b26a/issuance-plot.csv" using 1:4 with linespoints lw 3 pt 9 lc rgb "#c0392b" title "cfssl + SQLite certdb", \
     "/tmp/b26a/issuance-plot.csv" using 1:5 with linespoints lw 2 pt 11 lc rgb "#e59866" dt 4 title "cfssl, no database", \
     1821.000000 with lines lw 2 dt 2 lc rgb "#333333" title "ceiling, 2 cores: 1821/s", \
     1547.850000 with lines lw 1 dt 3 lc rgb "#333333" title "target: 85% of ceiling"

set output "/tmp/b26a/issuance-p99.png"
set title "Issuance p99 latency (2 cores, AMD EPYC)"
set ylabel "p99 latency, ms (log scale)"
set logscale y 10
set yrange [*:*]
plot "/tmp/b26a/issuance-plot.csv" using 1:6 with linespoints lw 3 pt 7 lc rgb "#1f4e9a" title "mica HTTPS", \
     "/tmp/b26a/issuance-plot.csv" using 1:7 with linespoints lw 2 pt 5 lc rgb "#4d8fd6" dt 4 title "mica HTTP (loopback)", \
     "/tmp/b26a/issuance-plot.csv" using 1:8 with linespoints lw 3 pt 9 lc rgb "#c0392b" title "cfssl + SQLite certdb", \
     "/tmp/b26a/issuance-plot.csv" using 1:9 with linespoints lw 2 pt 11 lc rgb "#e59866" dt 4 title "cfssl, no database", \
     25 with lines lw 1 dt 3 lc rgb "#333333" title "target at 8 clients: 25 ms"
