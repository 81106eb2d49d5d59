tptt eval --model $OUT/pre-ftz/runs/table4/adding-tptt-clip1-T100-s3.ckpt --length 200 --samples 10000 --threads 1
