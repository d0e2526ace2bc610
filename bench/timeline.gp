# bench/timeline.gp - the picture of bench/timeline.sh (gnuplot 5).
# Variables from the caller: dir (the data), out (the PNG), idle, clients,
# rate, refused/lost (unguarded: ms refused, idle sessions lost), grefused/glost.
set terminal pngcairo size 960,640 font "DejaVu Sans,11" linewidth 1.5
set output out
red = "#c0392b"
green = "#1e8449"
set multiplot layout 2,1 margins 0.08,0.97,0.09,0.88 spacing 0,0.09 \
    title sprintf("One kill -9 of an idle backend at t = 0\n%d idle psql sessions, pgbench -c %d at %d tx/s (restarted when it stops, like an application that reconnects)", idle, clients, rate) font ",12"
set xrange [-4:8]
set grid lc rgb "#dddddd"
set key bottom left box opaque
set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lc rgb "black"
set label 1 "kill -9" at -0.1, graph 0.93 right
set ylabel "sessions connected"
set yrange [0:idle + clients + 8]
set label 2 sprintf("without the guard: %d idle sessions lost for good,\nno connections for %d ms (crash restart)", lost, refused) \
    at 0.4, graph 0.45 left tc rgb red
set label 3 sprintf("with the guard: %d session ended, the one killed", glost) at 0.3, graph 0.88 left tc rgb green
set format x ""
plot dir."/guarded.sessions" using 1:2 with steps lw 3 lc rgb green title "with pgkillguard", \
     dir."/unguarded.sessions" using 1:2 with steps lw 2 lc rgb red title "without"
unset label 2
unset label 3
set ylabel "transactions per second"
set xlabel "seconds from the kill -9"
set format x "%g"
set yrange [0:*]
plot dir."/guarded.tps" using 1:2 with steps lw 3 lc rgb green title "with pgkillguard", \
     dir."/unguarded.tps" using 1:2 with steps lw 2 lc rgb red title "without"
unset multiplot
