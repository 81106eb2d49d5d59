tptt eval --model $OUT/runs/table4/adding-lstm-T100-s3.ckpt --length 200 --samples 10000 --threads 1
