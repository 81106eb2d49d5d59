tptt eval --model $OUT/runs/table4/adding-bptt_paper-T100-s1.ckpt --length 200 --samples 10000 --threads 1
