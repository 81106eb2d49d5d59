tptt eval --model $OUT/runs/table4/temporal3-bptt_paper-T100-s1.ckpt --length 200 --samples 10000 --threads 1 --errors $OUT/runs/table4/temporal3-bptt_paper-T100-s1.errors200.csv
