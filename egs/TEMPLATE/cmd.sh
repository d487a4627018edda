# How parallel jobs run. On a Slurm cluster: export train_cmd="slurm.pl --mem 4G"
export train_cmd="run.pl"
export feat_cmd="run.pl"
