tptt eval --model $OUT/runs/table4/perm-lstm-T100-s3.best.ckpt --length 200 --samples 10000 --threads 1
