# SPDX-License-Identifier: Apache-2.0
# The benchmark's plots, as SVG, from the tables bench/plot_data.py writes (make plots; make bench runs it too).
# usage: gnuplot -e "data='DIR'; out='DIR'" bench/plots.gp
set terminal svg size 900,560 dynamic noenhanced font "sans,12" background rgb "white"
set datafile separator "\t"
set grid xtics ytics lc rgb "#dddddd"
set key top right box opaque

# 1. Every Registrar row against the raw-OpenSSL server doing the same handshake in the same round: two bars per
#    row (by rate, by server CPU per operation) and the goal, 0.8.
set output out."/ratio.svg"
set title "Registrar ÷ raw-OpenSSL ceiling, per row (1 = as fast as the ceiling; goal 0.8)"
set xrange [0:1.4]
set yrange [-0.6:*]
set xlabel "ratio to the ceiling"
set key bottom right
set ytics scale 0 font ",11"
set style fill solid 0.85 border -1
set arrow 1 from 0.8, graph 0 to 0.8, graph 1 nohead dt 2 lw 2 lc rgb "#c0392b"
set label 1 "goal 0.8" at 0.81, graph 0.02 tc rgb "#c0392b" font ",10"
plot data."/ratio.tsv" using (0):($0+0.18):(0):2:($0):($0+0.36):ytic(1) with boxxyerror lc rgb "#2e86c1" title "by rate", \
     ""                using (0):($0-0.18):(0):3:($0-0.36):($0) with boxxyerror lc rgb "#f39c12" title "by server CPU"
unset arrow 1
unset label 1
unset ytics
set ytics

# 2. Resident memory of the Registrar with idle attached connections: the slope is the cost of one.
set output out."/memory.svg"
set title "Registrar resident memory (VmRSS) with idle attached TLS-PSK connections, one worker"
set xrange [0:*]
set yrange [0:*]
set xlabel "connections held"
set ylabel "VmRSS (MiB)"
set key top left
set format x "%.0s%c"
set offsets 0, graph 0.12, graph 0.1, 0
plot data."/memory.tsv" using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb "#2e86c1" title "VmRSS", \
     ""                 using 1:2:($3 > 0 ? sprintf("%.1f KiB each", $3) : "") with labels offset 0,1.2 font ",10" notitle

# 3. Scaling where the benchmark measures it: more connections on one worker (streaming on keep-alive
#    connections). Workers are not varied by bench/run.sh (one worker, one core), so there is no such plot.
set output out."/scaling.svg"
set title "Streaming on one worker: requests/s by number of connections"
set format x "%g"
set offsets 0, 0, 0, 0
set xrange [0.5:20]
set logscale x 2
set xtics (1, 2, 4, 8, 16)
set xlabel "keep-alive connections"
set ylabel "requests/s"
set y2label "server CPU µs per request"
set y2tics
set y2range [0:*]
plot data."/scaling.tsv" index 0 using 1:2 with linespoints pt 7 lw 2 lc rgb "#2e86c1" title "RETRIEVE <AE>", \
     ""                  index 0 using 1:3 axes x1y2 with linespoints pt 6 dt 2 lc rgb "#2e86c1" title "  (CPU µs/request)", \
     ""                  index 1 using 1:2 with linespoints pt 7 lw 2 lc rgb "#f39c12" title "durable CREATE <contentInstance>", \
     ""                  index 1 using 1:3 axes x1y2 with linespoints pt 6 dt 2 lc rgb "#f39c12" title "  (CPU µs/request)"
