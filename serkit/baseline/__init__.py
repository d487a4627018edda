"""The classical baseline: openSMILE functionals with an SVM (optional extra ``serkit[baseline]``)."""
