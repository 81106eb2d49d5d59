tptt eval --model $OUT/runs/table4/perm-bptt_paper-T100-s1.best.ckpt --length 200 --samples 10000 --threads 1
