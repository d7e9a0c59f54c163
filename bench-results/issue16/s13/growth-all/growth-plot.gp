set terminal pngcairo size 900,520 font "sans,11" noenhanced
set datafile separator ","
set logscale x 10
set xtics add ("0" 1)
set xlabel "certificates in the store (the empty store drawn at 1)"
set grid
set key left bottom
set output "/work/g13b/growth-issuance.png"
set title "mica: issuance over HTTPS at 8 connections against store size (2 cores, AMD EPYC)"
set ylabel "certificates per second"
set yrange [0:*]
plot "/work/g13b/growth-plot.csv" using 1:2 with linespoints lw 3 pt 7 lc rgb "#1f4e9a" title "mica HTTPS, 8 connections", \
     709.290000 with lines lw 1 dt 3 lc rgb "#333333" title "target: 90% of the empty store's"
set output "/work/g13b/growth-search-p99.png"
set title "mica: search p99 against store size (2 cores, AMD EPYC)"
set ylabel "p99 latency, ms"
set key left top
plot "/work/g13b/growth-plot.csv" using 1:3 with linespoints lw 3 pt 7 lc rgb "#1f4e9a" title "?name=", \
     "/work/g13b/growth-plot.csv" using 1:4 with linespoints lw 3 pt 5 lc rgb "#c0392b" title "?expiring_days=30", \
     "/work/g13b/growth-plot.csv" using 1:5 with linespoints lw 2 pt 9 lc rgb "#e59866" dt 4 title "?expiring_days=30, deep pages", \
     50 with lines lw 1 dt 3 lc rgb "#333333" title "target: 50 ms"
