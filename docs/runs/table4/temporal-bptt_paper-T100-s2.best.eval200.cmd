tptt eval --model $OUT/runs/table4/temporal-bptt_paper-T100-s2.best.ckpt --length 200 --samples 10000 --threads 1 --errors $OUT/runs/table4/temporal-bptt_paper-T100-s2.best.errors200.csv
